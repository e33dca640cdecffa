/**
 * The one owner of workspace naming: every surface keeps user U's workspaces under
 * `users/U`, so a user's runs, files and sandbox root line up whichever protocol made them.
 */

const USERS = 'users';

/** The engine workspace that holds every workspace of `userId`. */
export function userRoot(userId: string): string {
  return `${USERS}/${userId}`;
}

/** User U's workspace `name` (already a valid relative workspace name): `users/U/name`. */
export function userWorkspace(userId: string, name: string): string {
  return `${userRoot(userId)}/${name}`;
}

/** The caller's name for an engine workspace of theirs, or undefined when it is not below their root. */
export function workspaceOfUser(userId: string, engineName: string): string | undefined {
  const prefix = `${userRoot(userId)}/`;
  return engineName.startsWith(prefix) ? engineName.slice(prefix.length) : undefined;
}

/** The `users/<id>` root a workspace lies in, if it lies in one. */
export function ownerRootOf(workspace: string): string | undefined {
  return new RegExp(`^${USERS}/[^/]+`).exec(workspace)?.[0];
}
