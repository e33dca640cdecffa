import type { Principal } from '../../auth/principal.ts';
import type { RunSummary } from '../../engine/port.ts';
import type { AppDeps } from '../../http/surface.ts';
import { userRoot } from '../../workspaces/owners.ts';

/** Finished runs looked at for /status: the newest this many of the caller's. */
const MAX_LOOKED_AT = 1000;

/**
 * The last finished run of each of the caller's workspaces, newest first, so a
 * fire-and-forget caller that went away can find its run id in /claudebox/status and read
 * the result at /claudebox/runs/<id>. Read from the engine's run store.
 */
export async function recentRunsOf(deps: AppDeps, principal: Principal): Promise<RunSummary[]> {
  const finished = await deps.engine.list({
    state: 'finished',
    owner: principal.userId,
    workspacePrefix: `${userRoot(principal.userId)}/`,
    limit: MAX_LOOKED_AT,
  });
  const seen = new Set<string>();
  return finished.filter((r) => {
    if (seen.has(r.workspace)) return false;
    seen.add(r.workspace);
    return true;
  });
}
