import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runNodeTest } from '../helpers/node-test-child.ts';
import { INSTALL } from '../helpers/system-parts.ts';

const FIXTURE = 'test/fixtures/harness/needs-bubblewrap.ts';
// No directory at all: bwrap (and every other program) is hidden from the child's PATH.
const HIDDEN = { PATH: '/nonexistent-agentgate-path', AGENTGATE_TEST_REQUIRE_ALL: undefined };

describe('suites that need a missing system part', { timeout: 180_000 }, () => {
  it('are skipped with the install line, and the run says so in its last line', () => {
    const { status, output } = runNodeTest(FIXTURE, { env: HIDDEN });
    assert.equal(status, 0, output);
    assert.match(
      output,
      /# SKIP needs bubblewrap: bwrap not found on PATH; install: apt-get install -y bubblewrap socat/,
    );
    assert.match(output, /^ok \d+ - a suite that needs nothing$/m, 'the rest of the file still runs');
    assert.match(output, /^# pass 1$/m, "node's own closing lines are kept");
    const last = output.trim().split('\n').at(-1);
    assert.equal(
      last,
      '# skipped 2: bubblewrap missing (bwrap not found on PATH) skipped 1: apt-get install -y bubblewrap socat; 1 skipped in code',
    );
  });

  it('fail the run under AGENTGATE_TEST_REQUIRE_ALL=1', () => {
    const { status, output } = runNodeTest(FIXTURE, { env: { ...HIDDEN, AGENTGATE_TEST_REQUIRE_ALL: '1' } });
    assert.notEqual(status, 0, output);
    assert.match(output, /AGENTGATE_TEST_REQUIRE_ALL=1 and this suite needs bubblewrap/);
    assert.match(output, /^# fail [1-9]/m);
  });

  it('are all installed by the one script the image and CI share', () => {
    const script = readFileSync(new URL('../../scripts/install-system-packages.sh', import.meta.url), 'utf8');
    const listed = (name: string) =>
      (new RegExp(`^${name}=\\((.*)\\)$`, 'm').exec(script)?.[1] ?? '').split(' ');
    const runtime = listed('runtime');
    const all = [...runtime, ...listed('test_tools')];
    for (const line of Object.values(INSTALL)) {
      for (const pkg of line.replace('apt-get install -y ', '').split(' ')) {
        assert.ok(all.includes(pkg), `${pkg} is not in scripts/install-system-packages.sh`);
      }
    }
    for (const pkg of ['bubblewrap', 'socat', 'chromium'])
      assert.ok(runtime.includes(pkg), `the image needs ${pkg}`);
  });
});
