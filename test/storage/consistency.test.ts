import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/errors.ts';
import { KeyLocks } from '../../src/storage/rw-lock.ts';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, startStorageApp } from './storage-app.ts';

const auth = { authorization: `Bearer ${KEYS.uploads}` };

/** Version n: a distinct size filled with one distinct byte, so a torn read cannot pass. */
function version(n: number): Buffer {
  return Buffer.alloc(256 * 1024 + n * 997, n % 256);
}

describe('storage consistency, locks and TTL', () => {
  let app: TestApp;
  let offsetMs = 0;
  before(async () => {
    app = await startStorageApp({
      clock: { now: () => Date.now() + offsetMs },
      env: { HYBRIDS3_SWEEP_INTERVAL: '50ms' },
    });
  });
  after(() => app.close());

  it('50 concurrent readers while a writer replaces the object each see one whole version', async () => {
    const url = `${app.url}/storage/uploads/hot.bin`;
    await fetch(url, { method: 'PUT', headers: auth, body: new Uint8Array(version(1)) });
    let isWriting = true;
    const writer = (async () => {
      for (let n = 2; n <= 12; n++) {
        const res = await fetch(url, { method: 'PUT', headers: auth, body: new Uint8Array(version(n)) });
        assert.equal(res.status, 200);
      }
      isWriting = false;
    })();
    const seen = new Set<number>();
    const reader = async () => {
      do {
        const res = await fetch(url);
        assert.equal(res.status, 200);
        const body = Buffer.from(await res.arrayBuffer());
        const n = body[0] ?? -1;
        assert.ok(body.equals(version(n)), `read of ${body.length} bytes is not one whole version`);
        seen.add(n);
      } while (isWriting);
    };
    await Promise.all([writer, ...Array.from({ length: 50 }, reader)]);
    assert.ok(seen.size >= 2, `readers saw versions ${[...seen]}`);
  });

  it('locks: reads share, a write waits for them, waiting too long is 503-shaped', async () => {
    const locks = new KeyLocks({ waitMs: 100, holdMs: 60_000 });
    const r1 = await locks.read('k');
    const r2 = await locks.read('k');
    await assert.rejects(
      locks.write('k'),
      (err: AppError) => err instanceof AppError && err.code === 'unavailable',
    );
    r1.release();
    r2.release();
    const w = await locks.write('k');
    await assert.rejects(locks.read('k'), (err: AppError) => err.code === 'unavailable');
    w.release();
    (await locks.read('k')).release();
  });

  it('locks: a holder past its hold limit is cut off and the key is free again', async () => {
    const locks = new KeyLocks({ waitMs: 1000, holdMs: 50 });
    const w = await locks.write('k');
    const aborted = new Promise((resolve) => w.signal.addEventListener('abort', resolve));
    const next = await locks.write('k');
    await aborted;
    next.release();
    w.release();
  });

  it('the TTL sweep deletes expired objects; an upload resets the expiry', async () => {
    const url = `${app.url}/storage/uploads/ttl.txt`;
    const keep = `${app.url}/storage/private/no-ttl.txt`;
    await fetch(url, { method: 'PUT', headers: auth, body: 'v1' });
    await fetch(keep, { method: 'PUT', headers: { authorization: `Bearer ${KEYS.private}` }, body: 'stays' });
    const hour = 3_600_000;
    offsetMs = 100 * hour;
    await fetch(url, { method: 'PUT', headers: auth, body: 'v2' });
    offsetMs = 200 * hour; // 200 h after the first upload, 100 h after the second: alive
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await (await fetch(url)).text(), 'v2');
    offsetMs = 269 * hour; // 169 h after the second upload: past the 168 h TTL
    const deadline = Date.now() + 5000;
    let status = 200;
    while (Date.now() < deadline) {
      const listed = (await (
        await fetch(`${app.url}/storage/uploads?prefix=ttl`, { headers: { accept: 'application/json' } })
      ).json()) as {
        objects: unknown[];
      };
      status = (await fetch(url)).status;
      if (status === 404 && listed.objects.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 404);
    const stays = await fetch(keep, { headers: { authorization: `Bearer ${KEYS.private}` } });
    assert.equal(await stays.text(), 'stays', 'a bucket without TTL keeps its objects');
    offsetMs = 0;
  });
});
