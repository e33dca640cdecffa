import { spawnSync } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { credentialsPath, readStoredOAuth } from '../auth/oauth-store.ts';
import type { Config } from '../config/index.ts';
import { isLoopbackHost } from '../deps.ts';
import { sandboxUnavailableReason } from '../process/sandbox.ts';

/**
 * One line of `agentgate doctor`. `fail` is something a deployment needs and lacks (the
 * command exits non-zero); `warn` works but is not what production wants; `on`/`off` say
 * whether a surface serves callers. Details never carry a secret's value.
 */
export interface CheckResult {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'on' | 'off';
  detail: string;
  fix?: string;
}

const MIN_NODE: readonly [number, number] = [20, 12];

export function checkNode(version: string = process.versions.node): CheckResult {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const isNew = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return isNew
    ? { name: 'node', status: 'ok', detail: `v${version}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `v${version} is older than ${MIN_NODE.join('.')}`,
        fix: 'install Node 20 LTS (https://nodejs.org, or the node:20-bookworm-slim image)',
      };
}

/** The agent sandbox: required when asked for or when the server listens beyond loopback. */
export function checkSandbox(
  c: Config,
  unavailable: () => string | undefined = sandboxUnavailableReason,
): CheckResult {
  const name = 'sandbox';
  const exposed = !isLoopbackHost(c.HOST);
  if (c.AGENT_SANDBOX === 'none') {
    return {
      name,
      status: exposed ? 'fail' : 'warn',
      detail: `AGENT_SANDBOX=none: agents run unconfined as this user${exposed ? `, and HOST=${c.HOST} exposes them` : ''}`,
      fix: 'install bubblewrap and socat and unset AGENT_SANDBOX (or run as a dedicated user, loopback only)',
    };
  }
  const why = unavailable();
  if (why === undefined)
    return { name, status: 'ok', detail: 'bubblewrap, socat and the seccomp helper work here' };
  const installed = spawnSync('bwrap', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return {
    name,
    status: c.AGENT_SANDBOX === 'bwrap' || exposed ? 'fail' : 'warn',
    detail: exposed
      ? `${why}: the server will refuse to start on HOST=${c.HOST}`
      : `${why}: agents would run unconfined, for local unproxied callers only`,
    fix:
      installed && !why.includes('socat') && !why.includes('seccomp')
        ? 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1); in a container see README "Deploy"'
        : 'apt-get install -y bubblewrap socat (scripts/install-system-packages.sh)',
  };
}

export function checkChromium(c: Config): CheckResult {
  const res = spawnSync(c.CHROMIUM_PATH, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (res.status === 0) return { name: 'chromium', status: 'ok', detail: res.stdout.trim() };
  return {
    name: 'chromium',
    // Only the browser surface needs it: without its token the surface serves stored keys at most.
    status: c.STEALTHY_AUTO_BROWSE_AUTH_TOKEN ? 'fail' : 'warn',
    detail: `no working Chromium at ${c.CHROMIUM_PATH}: the browser surface cannot act`,
    fix: 'apt-get install -y chromium fonts-liberation, or set CHROMIUM_PATH',
  };
}

/** A URL fit to print: a password or token in its userinfo never reaches the output. */
function withoutUserinfo(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Which credentials agents would use, and whether the model answers them: a token count
 * request (free, no generation) to the model endpoint.
 */
export async function checkModel(c: Config, timeoutMs = 10_000): Promise<CheckResult> {
  const name = 'model';
  const stored = await readStoredOAuth(c.DATA_DIR);
  const oauthToken = c.CLAUDE_CODE_OAUTH_TOKEN ?? stored?.accessToken;
  const useKey = Boolean(c.ANTHROPIC_API_KEY) && (c.USE_CLAUDE_API_KEY || !oauthToken);
  if (c.FAKE_MODEL || (!c.ANTHROPIC_API_KEY && !oauthToken && !c.ANTHROPIC_BASE_URL)) {
    return {
      name,
      status: 'warn',
      detail: c.FAKE_MODEL
        ? 'FAKE_MODEL=1: scripted answers'
        : 'no credentials: the built-in fake model answers',
      fix: 'set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN, or log in via POST /auth/login)',
    };
  }
  const via = useKey
    ? 'ANTHROPIC_API_KEY'
    : c.CLAUDE_CODE_OAUTH_TOKEN
      ? 'CLAUDE_CODE_OAUTH_TOKEN'
      : oauthToken
        ? `the stored login (${credentialsPath(c.DATA_DIR)})`
        : 'no key';
  const base = c.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com';
  const shown = withoutUserinfo(base);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': '2023-06-01',
  };
  if (useKey && c.ANTHROPIC_API_KEY) headers['x-api-key'] = c.ANTHROPIC_API_KEY;
  else if (oauthToken) {
    headers.authorization = `Bearer ${oauthToken}`;
    headers['anthropic-beta'] = 'oauth-2025-04-20';
  }
  const fix = `check the credentials in ${via} and that ${shown} is reachable from this host`;
  try {
    const res = await fetch(`${base}/v1/messages/count_tokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: c.CLAUDE_MODEL, messages: [{ role: 'user', content: 'ping' }] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.ok) return { name, status: 'ok', detail: `${shown} answers ${via}` };
    if (res.status === 401 || res.status === 403) {
      return { name, status: 'fail', detail: `${shown} refuses ${via} (HTTP ${res.status})`, fix };
    }
    return { name, status: 'warn', detail: `${shown} answered HTTP ${res.status} to a token count (${via})` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { name, status: 'fail', detail: `cannot reach ${shown} (${cause})`, fix };
  }
}

/** DATA_DIR holds the store, logins and every workspace: writable by this user, by no one else. */
export async function checkDataDir(c: Config): Promise<CheckResult> {
  const name = 'data dir';
  const dir = c.DATA_DIR;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.doctor-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? err})`,
      fix: `mkdir -p ${dir} && chown $(id -un) ${dir} && chmod 700 ${dir}, or set DATA_DIR`,
    };
  }
  const unsafe: string[] = [];
  for (const path of [dir, join(dir, 'agentgate.db'), credentialsPath(dir)]) {
    try {
      const s = await stat(path);
      if (s.mode & 0o002) unsafe.push(`${path} is writable by everyone`);
      else if (s.mode & 0o077 && path !== dir) unsafe.push(`${path} is readable by others`);
      else if (s.mode & 0o020) unsafe.push(`${path} is writable by its group`);
      if (typeof process.getuid === 'function' && s.uid !== process.getuid()) {
        unsafe.push(`${path} belongs to uid ${s.uid}, not this user`);
      }
    } catch {
      // not created yet: the server creates it with safe modes
    }
  }
  if (unsafe.length > 0) {
    return {
      name,
      status: 'fail',
      detail: unsafe.join('; '),
      fix: `chown -R $(id -un) ${dir} && chmod -R go-rwx ${dir}`,
    };
  }
  const mode = ((await stat(dir)).mode & 0o777).toString(8);
  return { name, status: 'ok', detail: `${dir} writable, mode ${mode}` };
}

/** Whether HOST:PORT can be listened on now (a running agentgate holds it, for one). */
export async function checkPort(c: Config): Promise<CheckResult> {
  const name = 'port';
  const where = `${c.HOST}:${c.PORT}`;
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen({ port: c.PORT, host: c.HOST, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
  if (!error) return { name, status: 'ok', detail: `${where} is free` };
  const why =
    error.code === 'EADDRINUSE'
      ? 'in use (is agentgate already running?)'
      : error.code === 'EACCES'
        ? 'not allowed for this user'
        : error.code === 'EADDRNOTAVAIL'
          ? 'HOST is not an address of this machine'
          : (error.code ?? error.message);
  return {
    name,
    status: 'fail',
    detail: `${where} ${why}`,
    fix: 'stop what listens there or set PORT (ports below 1024 need a reverse proxy); check HOST',
  };
}

/** Every surface, whether it serves callers and, when not, which variable would turn it on. */
export function checkSurfaces(c: Config, chromium: CheckResult): CheckResult[] {
  const on = (name: string, detail: string): CheckResult => ({ name, status: 'on', detail });
  const off = (name: string, detail: string): CheckResult => ({ name, status: 'off', detail });
  const storedKeysOnly = 'only keys from `agentgate keys create`';
  const apiKeys = c.API_KEYS?.split(',').filter((k) => k.trim()).length ?? 0;
  const adminKeys = c.ADMIN_API_KEYS?.split(',').filter((k) => k.trim()).length ?? 0;
  const bucketKeys = c.buckets.filter((b) => b.key).map((b) => b.name);
  const publicBuckets = c.buckets.filter((b) => b.isPublic).map((b) => b.name);
  return [
    apiKeys > 0
      ? on(
          'claude-code-api',
          `/run: ${apiKeys} key(s) in API_KEYS${c.NEXTAUTH_SECRET ? ', web tokens (NEXTAUTH_SECRET)' : ''}`,
        )
      : on('claude-code-api', `/run: ${storedKeysOnly} (API_KEYS unset)`),
    c.CLAUDEBOX_API_TOKEN
      ? on('claudebox', '/claudebox/*: CLAUDEBOX_API_TOKEN')
      : on('claudebox', `/claudebox/*: ${storedKeysOnly} (CLAUDEBOX_API_TOKEN unset)`),
    c.ZAI_API_KEY
      ? on('claudebox-zai', `GLM models${c.CLAUDEBOX_ZAI_API_TOKEN ? ', CLAUDEBOX_ZAI_API_TOKEN' : ''}`)
      : off('claudebox-zai', 'GLM models off: ZAI_API_KEY unset'),
    c.CLAUDEOPS_CHAT_API_KEY
      ? on('openai chat', '/v1/chat/completions (claude-ops): CLAUDEOPS_CHAT_API_KEY')
      : off('openai chat', 'claude-ops answers 503: CLAUDEOPS_CHAT_API_KEY unset'),
    c.LITELLM_MASTER_KEY
      ? on('gateway', '/chat/completions, /models, /mcp/: LITELLM_MASTER_KEY')
      : on('gateway', `${storedKeysOnly} (LITELLM_MASTER_KEY unset)`),
    c.HYBRIDS3_MASTER_KEY || bucketKeys.length > 0
      ? on(
          'storage',
          `buckets ${c.buckets.map((b) => b.name).join(', ')}; writers: ${c.HYBRIDS3_MASTER_KEY ? 'master key' : bucketKeys.join(', ')}`,
        )
      : publicBuckets.length > 0
        ? on(
            'storage',
            `public reads only (${publicBuckets.join(', ')}): no HYBRIDS3_MASTER_KEY or bucket key`,
          )
        : off('storage', 'no HYBRIDS3_MASTER_KEY, bucket key or public bucket'),
    on(
      'runs api',
      `/api/v1/runs, /ui/ (console): any key; webhooks ${c.WEBHOOK_SECRET ? 'signed with WEBHOOK_SECRET' : 'refused (WEBHOOK_SECRET unset)'}`,
    ),
    adminKeys > 0 || c.LITELLM_MASTER_KEY
      ? on(
          'keys api',
          `/admin/*, /key/*: ${[adminKeys > 0 ? `${adminKeys} key(s) in ADMIN_API_KEYS` : '', c.LITELLM_MASTER_KEY ? 'LITELLM_MASTER_KEY' : ''].filter(Boolean).join(', ')}, stored admin keys`,
        )
      : on('keys api', '/admin/*, /key/*: only `agentgate keys create --admin` keys (ADMIN_API_KEYS unset)'),
    c.REDIS_URL
      ? on('engine', `cluster node ${c.NODE_ID ?? '(host name and port)'}: queue and events on REDIS_URL`)
      : on('engine', 'embedded: one process (REDIS_URL unset)'),
    chromium.status !== 'ok'
      ? off('browser', `Chromium missing at ${c.CHROMIUM_PATH}`)
      : c.STEALTHY_AUTO_BROWSE_AUTH_TOKEN
        ? on('browser', `/stealthy-auto-browse/: ${c.STEALTHY_AUTO_BROWSE_NUM_REPLICAS} replica(s)`)
        : on('browser', `${storedKeysOnly} (STEALTHY_AUTO_BROWSE_AUTH_TOKEN unset)`),
  ];
}
