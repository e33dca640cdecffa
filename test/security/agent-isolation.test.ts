import assert from 'node:assert/strict';
import { chown, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPublicAddress, NetGuard } from '../../src/browser/net-guard.ts';
import type { RunEvent } from '../../src/engine/events.ts';
import { credentialDigest } from '../../src/fake-model/recorder.ts';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { makeTempDir } from '../helpers/temp.ts';

/**
 * The attacks of a key holder whose prompts make the agent run shell commands, replayed
 * through POST /run with default settings (AGENT_SANDBOX=auto on a machine with bubblewrap).
 */
const KEY = 'isolation-test-key-5c2a';
const SECRETS = {
  API_KEYS: KEY,
  HYBRIDS3_MASTER_KEY: 'isolation-hybrids3-secret-81f0',
  LITELLM_MASTER_KEY: 'isolation-litellm-secret-0c9e',
  NEXTAUTH_SECRET: 'isolation-nextauth-secret-33d1',
  CLAUDEBOX_API_TOKEN: 'isolation-claudebox-secret-a7b4',
};
/** What the fake model's key is in the server's own model access: an agent must never see it. */
const MODEL_KEY = 'agentgate-fake-model';
/** The stand-in for a public site: a loopback address the agents' egress is told to treat as public. */
const PUBLIC_STAND_IN = '127.0.0.2';

const bash = (command: string) => `[[tool:Bash ${JSON.stringify({ command })}]]`;

describe('agent isolation through the HTTP surface (default settings)', {
  skip: skipWithout('bubblewrap'),
  timeout: 180_000,
}, () => {
  let t: TestApp;
  let site: Server;
  let sitePort = 0;
  let hostSocket: NetServer;
  let hostSocketHits = 0;
  const socketDir = join(process.cwd(), 'scratch', `isolation-${process.pid}`);
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    // The server process holds every gateway secret in its environment, as a real one does.
    for (const [name, value] of Object.entries(SECRETS)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    site = createServer((_req, res) => res.end('public-site-ok'));
    await new Promise<void>((r) => site.listen(0, PUBLIC_STAND_IN, r));
    sitePort = (site.address() as { port: number }).port;
    // A host Unix socket the agent can see on the read-only root (as /var/run/docker.sock).
    await mkdir(socketDir, { recursive: true });
    hostSocket = createNetServer((s) => {
      hostSocketHits += 1;
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhost-socket');
    });
    await new Promise<void>((r) => hostSocket.listen(join(socketDir, 'host.sock'), r));
    // A file of another user, readable only by its owner (or by a capability).
    await writeFile(join(socketDir, 'foreign.txt'), 'foreign-secret', { mode: 0o600 });
    await chown(join(socketDir, 'foreign.txt'), 12345, 12345).catch(() => undefined);
    t = await startTestApp({
      surfaces: [claudeCodeApiSurface],
      env: { ...SECRETS, AGENT_EGRESS: 'allowlist', AGENT_EGRESS_ALLOW: PUBLIC_STAND_IN },
      agentNetGuard: new NetGuard({ isPublicAddress: (ip) => ip === PUBLIC_STAND_IN || isPublicAddress(ip) }),
    });
    assert.equal(t.deps.sandbox.name, 'bwrap', 'default settings sandbox agents where bubblewrap works');
  });

  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await t?.close();
    site?.close();
    hostSocket?.close();
    await rm(socketDir, { recursive: true, force: true });
  });

  async function run(prompt: string): Promise<{ output: string; runId: string }> {
    const res = await fetch(`${t.url}/run`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    const body = (await res.json()) as { success: boolean; output: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.success, JSON.stringify(body));
    const newest = await t.deps.db
      .selectFrom('runs')
      .select('id')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    return { output: body.output, runId: newest.id };
  }

  test('no gateway secret is readable: not in any environ, env, DATA_DIR or the ENV_FILE', async () => {
    const probe = [
      `cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' > seen-environ.txt`,
      'env > seen-env.txt',
      `grep -r -a -h -o -E 'isolation-[a-z0-9]+-secret-[0-9a-f]+' ${t.dataDir} 2>/dev/null > seen-data.txt`,
      `ls -la ${t.dataDir} > seen-datadir.txt 2>&1`,
      'echo done',
    ].join('; ');
    const { output } = await run(bash(probe));
    assert.match(output, /done/);
    const ws = join(t.dataDir, 'workspaces/users/api/oneshot-0');
    const seen = await Promise.all(
      ['seen-environ.txt', 'seen-env.txt', 'seen-data.txt', 'seen-datadir.txt'].map((f) =>
        readFile(join(ws, f), 'utf8'),
      ),
    );
    for (const text of seen) {
      for (const secret of Object.values(SECRETS)) assert.ok(!text.includes(secret), `leaked ${secret}`);
    }
    assert.doesNotMatch(seen[3] ?? '', /agentgate\.db/, 'the store is invisible');
  });

  test('the agent holds no model key, yet its calls reach the model with the real one', async () => {
    const before = t.fake.requests().length;
    const { output } = await run(bash(`env > model-env.txt; grep -r -l ${MODEL_KEY} ~ 2>/dev/null | wc -l`));
    const env = await readFile(join(t.dataDir, 'workspaces/users/api/oneshot-0/model-env.txt'), 'utf8');
    assert.ok(!env.includes(MODEL_KEY), 'the model key is not in the agent environment');
    assert.match(output, /Tool result: 0\b/, 'nor in any file of its home');
    const token = /^ANTHROPIC_API_KEY=(.*)$/m.exec(env)?.[1] ?? '';
    assert.match(token, /^agentgate-run-/, 'the agent holds a run token instead');
    assert.match(env, /^ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:8377$/m);
    const seenByModel = t.fake.requests().slice(before);
    assert.ok(seenByModel.length > 0, 'the run reached the model');
    for (const r of seenByModel) {
      assert.equal(
        r.credentialDigests['x-api-key'],
        credentialDigest(MODEL_KEY),
        'the relay sent the real key',
      );
    }

    // After its run the token is useless, even from the host side of the relay.
    const relayUrl = t.deps.agentGateway.baseUrl(false);
    const res = await fetch(`${relayUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'authentication_error');
  });

  test("the relay records each model call's usage on the run", async () => {
    const { runId } = await run('[[words:5]]');
    assert.ok(runId);
    const events: RunEvent[] = [];
    for await (const e of t.deps.engine.events(runId, 0)) events.push(e.event);
    const calls = events.flatMap((e) => (e.type === 'model_call' ? [e.call] : []));
    assert.ok(calls.length >= 1, 'at least one model call recorded');
    assert.ok(calls.every((c) => c.status === 200));
    assert.ok(
      calls.some((c) => c.outputTokens > 0),
      'output tokens counted from the stream',
    );
    const record = await t.deps.engine.get(runId);
    assert.equal(record?.sandbox, 'bwrap', 'the run record names its sandbox');
  });

  test('the relay lends the real credential to the model API only: no other path, no other method', async () => {
    const paths = [
      '/api/oauth/claude_cli/create_api_key',
      '/v1/files',
      '/v1/messages/batches',
      '//v1/messages',
      '/v1/../v1/messages',
      '/v1/messages/../../api/oauth/profile',
      '/v1/%6dessages',
    ];
    const probe = paths
      .map(
        (p, i) =>
          `echo "path${i}=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is --noproxy '*' -X POST -H "x-api-key: $ANTHROPIC_API_KEY" -d '{}' 'http://127.0.0.1:8377${p}')"`,
      )
      .join('; ');
    const before = t.fake.requests().length;
    await run(bash(`(${probe}) > relay-paths.txt 2>&1`));
    const out = await readFile(join(t.dataDir, 'workspaces/users/api/oneshot-0/relay-paths.txt'), 'utf8');
    for (const [i, p] of paths.entries())
      assert.match(out, new RegExp(`^path${i}=403$`, 'm'), `${p}\n${out}`);
    const forwarded = t.fake
      .requests()
      .slice(before)
      .map((r) => r.path);
    assert.ok(
      forwarded.every((p) => p === '/v1/messages' || p === '/v1/messages/count_tokens'),
      forwarded.join(),
    );
  });

  test('a background job a prompt started does not outlive its run, though the process is kept', async () => {
    const marker = `agentgate-stray-${process.pid}`;
    await run(bash(`setsid sh -c 'exec -a ${marker} sleep 600' > /dev/null 2>&1 < /dev/null & echo started`));
    const strays = async () => {
      const found: string[] = [];
      for (const name of await readdir('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        const cmd = await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
        if (cmd.includes(marker)) found.push(name);
      }
      return found;
    };
    assert.deepEqual(await strays(), [], 'the job was killed when the run ended');
    assert.ok(t.deps.backend.poolState().live >= 1, 'the agent process itself is kept for the next run');
    const { output } = await run('hello again');
    assert.equal(output, 'Echo: hello again', 'and serves the next run');
  });

  test('no loopback, metadata or host socket is reachable; an allow-listed site is', async () => {
    const serverPort = new URL(t.url).port;
    const relayPort = new URL(t.deps.agentGateway.baseUrl(false)).port;
    const code = (target: string, extra = '') =>
      `curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${extra} ${target}`;
    const probe = [
      `echo "direct-server=$(${code(`http://127.0.0.1:${serverPort}/health`, "--noproxy '*'")})"`,
      `echo "proxy-server=$(${code(`http://127.0.0.1:${serverPort}/health`, `-x http://127.0.0.1:8377 --noproxy ''`)})"`,
      `echo "proxy-relay-port=$(${code(`http://127.0.0.1:${relayPort}/`, `-x http://127.0.0.1:8377 --noproxy ''`)})"`,
      `echo "metadata=$(${code('http://169.254.169.254/latest/meta-data/')})"`,
      `echo "metadata-tls=$(${code('https://169.254.169.254/')})"`,
      `echo "private=$(${code('http://10.0.0.1/')})"`,
      `echo "socket=$(curl -s --max-time 5 --unix-socket ${socketDir}/host.sock http://x/ || echo refused)"`,
      `echo "not-listed=$(${code('https://example.com/')})"`,
      `echo "public=$(curl -s --max-time 5 http://${PUBLIC_STAND_IN}:${sitePort}/)"`,
      // As root, bubblewrap without a user namespace of its own kept every capability in the
      // host's namespace: a file of another uid, mode 0600, was readable (and with
      // open_by_handle_at, any file on the host).
      `echo "foreign=$(cat ${socketDir}/foreign.txt 2>/dev/null || echo refused)"`,
      `echo "userns=$(readlink /proc/self/ns/user)"`,
      // The bridge runs without the seccomp filter: the agent must not be able to name it.
      `echo "bridge-visible=$(grep -l -a 'TCP4-LISTE[N]' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"`,
    ].join('; ');
    await run(bash(`(${probe}) > net.txt 2>&1`));
    const net = await readFile(join(t.dataDir, 'workspaces/users/api/oneshot-0/net.txt'), 'utf8');
    const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(net)?.[1] ?? '';
    assert.equal(field('direct-server'), '000', `the server port is not reachable directly:\n${net}`);
    assert.equal(field('proxy-server'), '403', 'nor through the proxy');
    assert.equal(field('proxy-relay-port'), '403', "nor the relay's own loopback port");
    assert.match(field('metadata'), /^(403|000)$/, 'cloud metadata refused');
    assert.match(field('metadata-tls'), /^(403|000)$/);
    assert.match(field('private'), /^(403|000)$/, 'the private network refused');
    assert.equal(field('socket'), 'refused', 'a host Unix socket is unreachable');
    assert.equal(hostSocketHits, 0);
    assert.match(field('not-listed'), /^(403|000)$/, 'a site off the allow-list is refused');
    assert.equal(field('public'), 'public-site-ok', 'an allow-listed site is reached through the proxy');
    assert.equal(
      field('bridge-visible'),
      '0',
      'the unfiltered bridge process is out of the agent PID namespace',
    );
    assert.equal(field('foreign'), 'refused', "no capability over the host's files");
    assert.notEqual(
      field('userns'),
      await readlink('/proc/self/ns/user'),
      "not in the host's user namespace",
    );
  });
});

describe('the bind-source race', { skip: skipWithout('bubblewrap'), timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ surfaces: [], env: { AGENT_SANDBOX: 'bwrap' } });
  });
  after(async () => t?.close());

  /**
   * The workspace check happened (the run engine); then the agent that can write the parent
   * swaps the workspace for a symlink before the sandbox mounts it. The backend is handed
   * the swapped path directly, as it would be after losing that race.
   */
  async function startIn(cwd: string): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    const ac = new AbortController();
    for await (const ev of t.deps.backend.start(
      {
        runId: 'race',
        owner: 'mallory',
        cwd,
        prompt: bash('echo pwned > pwned.txt'),
        systemPrompt: 'forces a cold start',
      },
      ac.signal,
    ))
      events.push(ev);
    return events;
  }

  test('a workspace swapped for a symlink to / is not mounted', async () => {
    const parent = await t.deps.workspaces.ensure('users/mallory');
    const target = join(t.dataDir, 'outside');
    await mkdir(target, { recursive: true });
    await symlink(target, join(parent, 'box'));
    await assert.rejects(startIn(join(parent, 'box')), /refusing to mount/);
    await assert.rejects(readFile(join(target, 'pwned.txt')), { code: 'ENOENT' });
  });

  test('a parent directory swapped for a symlink is not followed either', async () => {
    const parent = await t.deps.workspaces.ensure('users/mallory');
    const target = join(t.dataDir, 'outside2');
    await mkdir(join(target, 'inner'), { recursive: true });
    await symlink(target, join(parent, 'dir'));
    await assert.rejects(startIn(join(parent, 'dir', 'inner')), /refusing to mount/);
    await assert.rejects(readFile(join(target, 'inner', 'pwned.txt')), { code: 'ENOENT' });
    await writeFile(join(parent, 'ok'), '');
  });
});

describe('a DATA_DIR reached through a symlink', {
  skip: skipWithout('bubblewrap'),
  timeout: 120_000,
}, () => {
  test('runs still work, the sandbox mounting the real directories', async () => {
    const real = await makeTempDir();
    const link = `${real.dir}-link`;
    await symlink(real.dir, link);
    const t = await startTestApp({ surfaces: [], dataDir: link, env: { AGENT_SANDBOX: 'bwrap' } });
    try {
      const run = await t.deps.engine.submit({
        owner: 'linky',
        workspace: 'users/linky/w',
        prompt: bash('echo ok > ok.txt'),
        onBusy: 'wait',
      });
      const rec = await t.deps.engine.wait(run.id);
      assert.equal(rec.status, 'succeeded', rec.error);
      assert.equal((await readFile(join(real.dir, 'workspaces/users/linky/w/ok.txt'), 'utf8')).trim(), 'ok');
    } finally {
      await t.close();
      await rm(link, { force: true });
      await real.cleanup();
    }
  });
});
