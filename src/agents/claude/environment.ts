import { createHash } from 'node:crypto';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How the agent reaches its model: set by the server from its config or the OAuth store. */
export interface ModelAccess {
  baseUrl?: string;
  apiKey?: string;
  oauthToken?: string;
  /** The model of a run that names none, when the endpoint is not Anthropic's. */
  defaultModel?: string;
  /**
   * The endpoint's models for Claude Code's haiku/sonnet/opus slots: subagents and
   * background calls name those aliases, and a non-Anthropic endpoint must not get
   * Claude model names it does not serve.
   */
  familyModels?: { haiku: string; sonnet: string; opus: string };
}

/** The kind of credential an access uses: the relay token an agent holds imitates it. */
export function credentialKindOf(access: ModelAccess): 'api_key' | 'oauth' {
  return access.oauthToken && !access.apiKey ? 'oauth' : 'api_key';
}

/** Where an agent process sends its model calls and its other traffic, and the token it holds. */
export interface AgentEndpoint {
  /** The relay's URL as the agent reaches it (the in-sandbox bridge, or a loopback port). */
  baseUrl: string;
  /** The egress proxy for everything else (sandboxed agents only: they have no other way out). */
  proxyUrl?: string;
  /** The per-process relay token, valid only while a run is active on the process. */
  token: string;
  kind: 'api_key' | 'oauth';
}

/**
 * The whole environment of an agent process, built from scratch: only the pass-through
 * variables (config's agentPassThroughEnv) and what is set here. No gateway secret and no
 * model credential ever reaches it: the model endpoint is the server's relay, and the only
 * credential is a token the relay honours while one of this process's runs is active.
 */
export function buildAgentEnv(
  passThrough: Record<string, string | undefined>,
  home: string,
  model: ModelAccess,
  endpoint: AgentEndpoint,
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
  env.ANTHROPIC_BASE_URL = endpoint.baseUrl;
  // The token mirrors the upstream credential's kind, so Claude Code sends the headers it
  // would send upstream and the relay only swaps the credential.
  if (endpoint.kind === 'oauth') env.CLAUDE_CODE_OAUTH_TOKEN = endpoint.token;
  else env.ANTHROPIC_API_KEY = endpoint.token;
  if (endpoint.proxyUrl) {
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'ALL_PROXY', 'all_proxy'])
      env[name] = endpoint.proxyUrl;
    env.NO_PROXY = '127.0.0.1,localhost,::1';
    env.no_proxy = env.NO_PROXY;
  }
  if (model.familyModels) {
    env.ANTHROPIC_DEFAULT_HAIKU_MODEL = model.familyModels.haiku;
    env.ANTHROPIC_DEFAULT_SONNET_MODEL = model.familyModels.sonnet;
    env.ANTHROPIC_DEFAULT_OPUS_MODEL = model.familyModels.opus;
  }
  return env;
}

/**
 * An owner's transcript store. Transcripts (`.claude/projects`) are reached through a
 * symlink in each agent home, so a session started by one process can be resumed by
 * another of the same owner, and never read by another owner's agent.
 */
export function transcriptsDir(agentDir: string, owner: string): string {
  return join(agentDir, 'projects', createHash('sha256').update(owner).digest('hex').slice(0, 32));
}

/** Points an agent home's transcripts at its owner's store (a spare learns its owner at claim). */
export async function linkTranscripts(home: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const link = join(home, '.claude', 'projects');
  await rm(link, { force: true });
  await symlink(dir, link, 'dir');
}

/** A private home per agent process; `owner` is unknown for a spare until it is claimed. */
export async function createAgentHome(
  agentDir: string,
  id: string,
  owner: string | undefined,
): Promise<string> {
  const home = join(agentDir, 'homes', id);
  await mkdir(join(home, '.claude'), { recursive: true, mode: 0o700 });
  await linkTranscripts(
    home,
    owner === undefined ? join(agentDir, 'projects', 'unclaimed') : transcriptsDir(agentDir, owner),
  );
  return home;
}

/** Writes (or clears) the owner's CLAUDE.md where Claude Code reads user memory. */
export async function setUserMemory(home: string, content: string | undefined): Promise<void> {
  const file = join(home, '.claude', 'CLAUDE.md');
  if (content === undefined || content === '') await rm(file, { force: true });
  else await writeFile(file, content, { mode: 0o600 });
}

export async function removeAgentHome(home: string): Promise<void> {
  // A process killed a moment ago may still be writing here: rm retries ENOTEMPTY/EBUSY.
  await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}
