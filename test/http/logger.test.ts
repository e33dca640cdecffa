import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { createLogger, loggableUrl } from '../../src/logger.ts';

test('presigned signatures and tokens in URLs are censored in logs', () => {
  const url =
    '/storage/private/doc.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=private%2F2026&X-Amz-Signature=abc123&x=1';
  const safe = loggableUrl(url);
  assert.doesNotMatch(safe, /abc123|private%2F2026/);
  assert.match(safe, /X-Amz-Algorithm=AWS4-HMAC-SHA256/);
  assert.match(safe, /x=1$/);
  // A percent-encoded name is the same parameter to the server (red-team finding).
  for (const name of ['X-Amz-Signatur%65', 'X%2DAmz-Credential', 't%6Fken']) {
    const encoded = loggableUrl(`/storage/private/doc.pdf?${name}=sekrit-value&y=2`);
    assert.doesNotMatch(encoded, /sekrit-value/, name);
    assert.match(encoded, /y=2$/);
  }
});

test('a request log line carries no credential from headers or query', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('info', sink);
  const app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger });
  app.get('/x', async () => ({ ok: true }));
  await app.inject({
    method: 'GET',
    url: '/x?X-Amz-Signature=sig-secret-1',
    headers: { authorization: 'Bearer header-secret-2', 'x-api-key': 'header-secret-3' },
  });
  await app.close();
  const log = lines.join('');
  assert.match(log, /incoming request/);
  for (const secret of ['sig-secret-1', 'header-secret-2', 'header-secret-3']) {
    assert.ok(!log.includes(secret), `${secret} reached the log`);
  }
});
