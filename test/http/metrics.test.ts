import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { surfaceNameOf } from '../../src/app.ts';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { allSurfaces } from '../../src/surfaces/index.ts';
import { metricsSurface } from '../../src/surfaces/metrics/index.ts';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

const KEY = 'sk-metrics-user';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP or TYPE
 * comment or a sample; names and labels are well-formed, label values properly escaped,
 * values numbers; every sample belongs to a family declared by TYPE before it. Throws on
 * the first line that is not.
 */
function parsePrometheus(text: string): Sample[] {
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const typed = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m?.[1] && m[2]) {
      assert.ok(!typed.has(m[1]), `TYPE of ${m[1]} declared twice`);
      typed.set(m[1], m[2]);
      continue;
    }
    assert.ok(!line.startsWith('#'), `a comment that is neither HELP nor TYPE: ${line}`);
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`).exec(line);
    assert.ok(m?.[1] && m[3] !== undefined, `not a sample line: ${line}`);
    const [, name, labelText = '', valueText] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    let at = 0;
    while (at < labelText.length) {
      LABEL.lastIndex = at;
      const l = LABEL.exec(labelText);
      assert.ok(l?.[1] !== undefined && l[2] !== undefined, `malformed labels in: ${line}`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      at = LABEL.lastIndex;
    }
    // As Prometheus reads values (Go's ParseFloat): NaN and Inf in any letter case.
    assert.ok(
      /^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|nan|[-+]?inf)$/i.test(valueText),
      `bad value: ${line}`,
    );
    const family = name.replace(/_(bucket|sum|count|total|created)$/, '');
    assert.ok(typed.has(name) || typed.has(family), `sample of an undeclared family: ${line}`);
    samples.push({
      name,
      labels,
      value: Number(valueText.replace(/inf$/i, 'Infinity').replace(/^nan$/i, 'NaN')),
    });
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include `labels`. */
function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/** A raw HTTP request (node's own client: it sets no header we did not ask for). */
function get(
  url: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text, contentType: res.headers['content-type'] }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('GET /metrics', { timeout: 200_000 }, () => {
  let t: TestApp;
  let adminKey: string;
  const scrape = async () => {
    const res = await get(t.url, '/metrics');
    assert.equal(res.status, 200, res.body);
    return parsePrometheus(res.body);
  };

  before(async () => {
    t = await startTestApp({
      surfaces: [claudeCodeApiSurface, openAiSurface, metricsSurface],
      env: { API_KEYS: `alice:${KEY}` },
    });
    adminKey = (await t.deps.keys.create('ops', true)).key;
  });
  after(async () => t?.close());

  test('a local scraper reads valid Prometheus text with every metric family', async () => {
    const res = await get(t.url, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(res.body);
    for (const name of [
      'agentgate_runs_queued',
      'agentgate_runs_running',
      'agentgate_agent_processes',
      'agentgate_agent_cold_starts_total',
    ]) {
      assert.ok(
        samples.some((s) => s.name === name),
        `${name} is exposed`,
      );
    }
    assert.ok(res.body.includes('# TYPE agentgate_run_duration_seconds histogram'));
  });

  test('counters move with runs, model tokens, HTTP routes and auth failures', async () => {
    const before = await scrape();
    const run = await get(
      t.url,
      '/run',
      { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      'POST',
      JSON.stringify({ prompt: 'count me [[words:5]]' }),
    );
    assert.equal(run.status, 200, run.body);
    assert.equal(JSON.parse(run.body).success, true, run.body);
    const refused = await get(
      t.url,
      '/run',
      { authorization: 'Bearer wrong-key', 'content-type': 'application/json' },
      'POST',
      '{"prompt":"x"}',
    );
    assert.equal(refused.status, 401);
    await get(t.url, '/no/such/route/4f1e9');
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    const surface = { surface: 'claude-code-api' };
    assert.equal(delta('agentgate_runs_started_total', surface), 1);
    assert.equal(delta('agentgate_runs_finished_total', { ...surface, status: 'succeeded' }), 1);
    assert.equal(delta('agentgate_run_duration_seconds_count', { ...surface, status: 'succeeded' }), 1);
    assert.equal(delta('agentgate_agent_runs_served_total'), 1, 'the run was served by some process');
    assert.ok(delta('agentgate_model_calls_total', { status: '200' }) >= 1, 'the relay counted model calls');
    assert.ok(delta('agentgate_model_tokens_total', { kind: 'output' }) > 0, 'output tokens counted');
    assert.ok(delta('agentgate_model_tokens_total', { kind: 'input' }) > 0, 'input tokens counted');
    assert.ok(delta('agentgate_model_cost_usd_total') > 0, 'the run’s cost counted');
    const models = after
      .filter((x) => x.name === 'agentgate_model_cost_usd_total')
      .map((x) => x.labels.model);
    assert.ok(
      models.every((m) => m && m !== 'unknown'),
      `cost carries its model: ${models}`,
    );
    assert.equal(delta('agentgate_http_requests_total', { method: 'POST', route: '/run', status: '200' }), 1);
    assert.equal(delta('agentgate_auth_failures_total', { ...surface, status: '401' }), 1);
    const text = (await get(t.url, '/metrics')).body;
    assert.ok(!text.includes('4f1e9'), 'a raw URL never becomes a label');
    assert.ok(sumOf(after, 'agentgate_http_requests_total', { route: 'unmatched', status: '404' }) >= 1);
  });

  test('gauges show a running run and its busy agent process while it runs', async () => {
    const run = await t.deps.engine.submit({
      owner: 'alice',
      workspace: 'users/alice/gauges',
      prompt: 'hold [[sleep:4000]]',
      onBusy: 'wait',
    });
    try {
      let samples: Sample[] = [];
      await waitFor(async () => {
        samples = await scrape();
        return sumOf(samples, 'agentgate_agent_processes', { state: 'busy' }) === 1;
      }, 30_000);
      assert.equal(sumOf(samples, 'agentgate_runs_running'), 1);
      assert.equal(sumOf(samples, 'agentgate_runs_queued'), 0);
    } finally {
      await t.deps.engine.cancel(run.id, { wait: true });
    }
    const after = await scrape();
    assert.equal(sumOf(after, 'agentgate_runs_running'), 0);
    assert.equal(
      sumOf(after, 'agentgate_runs_finished_total', { surface: 'internal', status: 'cancelled' }),
      1,
    );
  });

  test('an admin key reads it from anywhere; anyone else is refused', async () => {
    const proxied = { 'x-forwarded-for': '203.0.113.9' };
    assert.equal(
      (await get(t.url, '/metrics', proxied)).status,
      401,
      'a proxied loopback caller is not local',
    );
    assert.equal((await get(t.url, '/metrics', { forwarded: 'for=203.0.113.9' })).status, 401);
    assert.equal(
      (await get(t.url, '/metrics', { ...proxied, authorization: `Bearer ${KEY}` })).status,
      403,
      'a remote caller with a non-admin key',
    );
    assert.equal((await get(t.url, '/metrics', { ...proxied, authorization: 'Bearer nope' })).status, 401);
    // DNS rebinding: a web page whose name points at 127.0.0.1 sends its own Host.
    assert.equal((await get(t.url, '/metrics', { host: 'attacker.example' })).status, 401);
    const admin = await get(t.url, '/metrics', { ...proxied, authorization: `Bearer ${adminKey}` });
    assert.equal(admin.status, 200);
    parsePrometheus(admin.body);
    const samples = await scrape();
    assert.ok(sumOf(samples, 'agentgate_auth_failures_total', { surface: 'metrics', status: '403' }) >= 1);
  });

  test('two servers in one process keep their own counters', async () => {
    const other = await startTestApp({ surfaces: [metricsSurface] });
    try {
      const samples = parsePrometheus((await get(other.url, '/metrics')).body);
      assert.equal(sumOf(samples, 'agentgate_runs_started_total'), 0);
    } finally {
      await other.close();
    }
  });
});

test('surface names as metrics and key scopes spell them', () => {
  assert.deepEqual(allSurfaces.map(surfaceNameOf), [
    'health',
    'claude-code-api',
    'openai',
    'claudebox',
    'mcp',
    'browser',
    'storage',
    'metrics',
    'api',
    'admin',
    'console',
  ]);
});

test('the exposition check refuses what Prometheus would refuse', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1\\"2"} 3\n';
  assert.equal(parsePrometheus(ok)[0]?.labels.x, '1"2');
  for (const bad of [
    'a_total 1\n', // no TYPE
    '# TYPE a gauge\na{x=1} 2\n', // unquoted label value
    '# TYPE a gauge\na 1,5\n', // not a number
    '# TYPE a gauge\na-b 1\n', // bad name
    '# TYPE a gauge\na 1', // no final newline
  ]) {
    assert.throws(() => parsePrometheus(bad), assert.AssertionError, JSON.stringify(bad));
  }
});
