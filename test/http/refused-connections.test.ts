import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** Red-team findings: a refused or unroutable request must cost neither a parse nor a socket. */
describe('refused requests do not hold the server', { timeout: 60_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ surfaces: [claudeCodeApiSurface], env: { API_KEYS: 'refused-test-key' } });
  });
  after(async () => t?.close());

  it('a path no route serves is answered 404 without parsing its body', async () => {
    // A body that is not JSON: parsed, it would be a 400; unparsed, the answer is the 404.
    const res = await fetch(`${t.url}/nope`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not json',
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('a refused caller that keeps sending its body is cut, after it got its 401', async () => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      'POST /run HTTP/1.1\r\nhost: x\r\nx-api-key: wrong\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n{"prompt":"',
    );
    // A slow sender: a few bytes every 200 ms, for at most 20 s.
    let isClosed = false;
    void closed.then(() => {
      isClosed = true;
    });
    for (let i = 0; i < 100 && !isClosed; i++) {
      socket.write('aaaa');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(isClosed, 'the server closed the connection of a refused, still-sending caller');
    assert.match(answer, /^HTTP\/1\.1 401/, 'after answering it');
  });
});
