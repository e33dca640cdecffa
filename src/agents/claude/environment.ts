import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How the agent reaches its model: set by the server from its config or the OAuth store. */
export interface ModelAccess {
  baseUrl?: string;
  apiKey?: string;
  oauthToken?: string;
}

/**
 * The whole environment of an agent process, built from scratch: only the pass-through
 * variables (config's agentPassThroughEnv) and what is set here. Gateway secrets —
 * API_KEYS, NEXTAUTH_SECRET, CLAUDEBOX_API_TOKEN, storage keys, … — never reach it.
 */
export function buildAgentEnv(
  passThrough: Record<string, string | undefined>,
  home: string,
  model: ModelAccess,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(passThrough)) {
    if (v !== undefined) env[name] = v;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.HOME = home;
  // One config dir per process: parallel runs never share a mutable .claude.json.
  env.CLAUDE_CONFIG_DIR = join(home, '.claude');
  // Headless: bypassPermissions is refused to root unless the CLI is told it is sandboxed.
  env.IS_SANDBOX = '1';
  // No title-generation call per prompt (it doubles model calls) and no update checks.
  env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
  env.DISABLE_AUTOUPDATER = '1';
  // CLAUDE_CODE_SUBPROCESS_ENV_SCRUB would hide the model credential from Bash, but it
  // needs bubblewrap and forces the default permission mode (tools then wait on prompts
  // no one can answer), so it is left off: the model credential is the one secret an
  // agent holds, as with any Claude Code install.
  if (model.baseUrl) env.ANTHROPIC_BASE_URL = model.baseUrl;
  if (model.apiKey) env.ANTHROPIC_API_KEY = model.apiKey;
  if (model.oauthToken && !model.apiKey) env.CLAUDE_CODE_OAUTH_TOKEN = model.oauthToken;
  return env;
}

/**
 * A private home per agent process. Transcripts (`.claude/projects`) are shared through a
 * symlink so a session started by one process can be resumed by another.
 */
export async function createAgentHome(agentDir: string, id: string): Promise<string> {
  const home = join(agentDir, 'homes', id);
  const configDir = join(home, '.claude');
  const projects = join(agentDir, 'projects');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await mkdir(projects, { recursive: true, mode: 0o700 });
  await symlink(projects, join(configDir, 'projects'), 'dir');
  return home;
}

/** Writes (or clears) the owner's CLAUDE.md where Claude Code reads user memory. */
export async function setUserMemory(home: string, content: string | undefined): Promise<void> {
  const file = join(home, '.claude', 'CLAUDE.md');
  if (content === undefined || content === '') await rm(file, { force: true });
  else await writeFile(file, content, { mode: 0o600 });
}

export async function removeAgentHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}
