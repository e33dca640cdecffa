import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runNodeTest } from '../helpers/node-test-child.ts';
import { processesWith } from '../helpers/processes.ts';

describe('the time limit of a test file', { timeout: 180_000 }, () => {
  it('cuts a hanging test and kills the process group it started', async () => {
    const marker = `agentgate-hang-${process.pid}`;
    // The suite's own flags, with a short limit after them (the last value wins).
    const { status, output } = runNodeTest('test/fixtures/harness/hangs.ts', {
      env: { HANG_MARKER: marker },
      extraFlags: ['--test-timeout=3000'],
    });
    assert.notEqual(status, 0, output);
    assert.match(output, /test timed out after 3000ms/);
    // Killed as the file is cut; the poll only lets /proc catch up.
    let left = await processesWith(marker);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await processesWith(marker);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], 'the detached process the test started outlived the cut');
  });
});
