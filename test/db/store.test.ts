import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { KeyStore } from '../../src/auth/key-store.ts';
import { type Db, openDatabase } from '../../src/db/open.ts';
import type { RunEvent, StoredEvent } from '../../src/engine/events.ts';
import type { RunSpec } from '../../src/engine/spec.ts';
import { AppError } from '../../src/errors.ts';
import { RunRepository } from '../../src/runs/repository.ts';
import { SessionStore } from '../../src/sessions/store.ts';
import { forEachBackend } from '../helpers/backends.ts';
import { makeTempDir } from '../helpers/temp.ts';

const spec = (over: Partial<RunSpec> = {}): RunSpec => ({
  owner: 'alice',
  workspace: 'users/alice',
  prompt: 'hello',
  onBusy: 'wait',
  ...over,
});

const isInvalidRequest = (err: unknown) => err instanceof AppError && err.code === 'invalid_request';

// The stores (runs, events, sessions, keys, kv) and the migrations, on each backend alike.
forEachBackend('store', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  before(async () => {
    const temp = await makeTempDir();
    cleanup = temp.cleanup;
    db = await openDatabase({ dataDir: temp.dir, databaseUrl: await backend.databaseUrl() });
  });
  after(async () => {
    await db?.destroy();
    await cleanup?.();
  });

  test('every migration is applied once and recorded', async () => {
    const names = (await db.selectFrom('migrations').select('name').orderBy('name').execute()).map(
      (r) => r.name,
    );
    assert.deepEqual(names.slice(0, 2), ['001_initial', '002_run_sandbox']);
    assert.equal(new Set(names).size, names.length);
  });

  test('epoch milliseconds and large counters come back as exact JS numbers', async () => {
    const big = 2 ** 52 + 1; // past int4 by far, still exact as a double
    await db.insertInto('kv').values({ key: 'big', value: 'v', updated_at: big }).execute();
    const row = await db.selectFrom('kv').selectAll().where('key', '=', 'big').executeTakeFirstOrThrow();
    assert.equal(typeof row.updated_at, 'number');
    assert.equal(row.updated_at, big);
    const { n } = await db
      .selectFrom('kv')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(n, 1, 'count(*) is a number, not the string "1"');
  });

  test('runs: insert, lifecycle, events in order, listing by prefix without LIKE wildcards', async () => {
    const repo = new RunRepository(db);
    const now = Date.now();
    await repo.insert('r1', spec({ workspace: 'team_a/x' }), now, null, 'none');
    await repo.insert('r2', spec({ workspace: 'teamXa/y' }), now, null, 'none');
    await repo.markRunning('r1', now + 1);
    await repo.setAgentSession('r1', 'agent-session-1');
    const events: StoredEvent[] = Array.from({ length: 2500 }, (_, i) => ({
      seq: i + 1,
      event: { type: 'text_delta', text: `w${i} \u0000 nul in agent text` } as RunEvent,
    }));
    await repo.appendEvents('r1', events); // more rows than one statement takes
    await repo.finish('r1', 'failed', undefined, 'agent said \u0000 bye', now + 2);
    await repo.finish('r2', 'succeeded', { text: 'ok' } as never, undefined, now + 2);
    const r1 = await repo.get('r1');
    assert.equal(r1?.status, 'failed');
    assert.equal(r1?.createdAt, now);
    assert.equal(r1?.finishedAt, now + 2);
    assert.equal(r1?.error, 'agent said \uFFFD bye', 'a NUL in agent text is kept as U+FFFD');
    const back = await repo.events('r1', 2490);
    assert.deepEqual(
      back.map((e) => e.seq),
      Array.from({ length: 10 }, (_, i) => 2491 + i),
    );
    assert.deepEqual(back[0]?.event, events[2490]?.event, 'JSON keeps the NUL escaped');
    const listed = await repo.listFinished({ state: 'finished', workspacePrefix: 'team_a/' });
    assert.deepEqual(
      listed.map((r) => r.id),
      ['r1'],
      '`_` is a character, not a wildcard',
    );
    const all = await repo.listFinished({ state: 'finished' });
    assert.deepEqual(
      all.map((r) => r.id),
      ['r1', 'r2'],
      'equal finish times: a stable order on every backend',
    );
  });

  test('recover fails running runs and returns queued ones oldest first', async () => {
    const repo = new RunRepository(db);
    const t0 = Date.now();
    await repo.insert('q2', spec({ workspace: 'rec/b' }), t0 + 5, null, 'none');
    await repo.insert('q1', spec({ workspace: 'rec/a' }), t0, null, 'none');
    await repo.insert('run', spec({ workspace: 'rec/c' }), t0, null, 'none');
    await repo.markRunning('run', t0 + 1);
    const queued = await repo.recover(t0 + 10);
    assert.deepEqual(
      queued.map((r) => r.id),
      ['q1', 'q2'],
    );
    assert.equal((await repo.get('run'))?.status, 'failed');
  });

  test('sessions: get-or-create is idempotent under concurrency and scoped by owner', async () => {
    const store = new SessionStore(db);
    const made = await Promise.all(
      Array.from({ length: 8 }, () => store.getOrCreate('alice', 'run', 'chat-1', 'users/alice')),
    );
    assert.equal(new Set(made.map((s) => s.id)).size, 1, 'one record for one name');
    const bob = await store.getOrCreate('bob', 'run', 'chat-1', 'users/bob');
    assert.notEqual(bob.id, made[0]?.id);
    await store.setAgentSession(bob.id, 'agent-b');
    assert.equal(await store.ownsAgentSession('bob', 'agent-b'), true);
    assert.equal(await store.ownsAgentSession('alice', 'agent-b'), false);
    assert.deepEqual(
      (await store.list('alice')).map((s) => s.name),
      ['chat-1'],
    );
    assert.equal(await store.delete('alice', 'run', 'chat-1'), true);
    assert.equal(await store.delete('alice', 'run', 'chat-1'), false);
    assert.equal((await store.find('bob', 'run', 'chat-1'))?.agentSessionId, 'agent-b');
  });

  test('a NUL in a name is refused as invalid_request, alike on both backends, and stores nothing', async () => {
    const store = new SessionStore(db);
    await assert.rejects(store.getOrCreate('alice', 'run', 'bad\u0000name', 'users/alice'), isInvalidRequest);
    await assert.rejects(store.find('alice', 'run', 'bad\u0000name'), isInvalidRequest);
    const rows = await db.selectFrom('sessions').select('name').where('owner', '=', 'alice').execute();
    assert.ok(!rows.some((r) => r.name.startsWith('bad')));
    await assert.rejects(sql`select ${'a\u0000b'} as x`.execute(db), isInvalidRequest);
  });

  test('keys: created, verified (admin flag as a boolean), listed, revoked', async () => {
    const keys = new KeyStore(db, () => undefined);
    const a = await keys.create('carol', true);
    const b = await keys.create('dave', false);
    assert.deepEqual(await keys.verify(a.key), { userId: 'carol', isAdmin: true, via: 'stored_key' });
    assert.deepEqual(await keys.verify(b.key), { userId: 'dave', isAdmin: false, via: 'stored_key' });
    assert.equal(await keys.verify(`${a.key}x`), undefined);
    const listed = await keys.list();
    assert.deepEqual(listed.map((k) => k.userId).sort(), ['carol', 'dave']);
    assert.ok(listed.every((k) => typeof k.createdAt === 'number' && k.revokedAt === null));
    assert.equal(await keys.revoke(a.id), true);
    assert.equal(await keys.revoke(a.id), false);
    assert.equal(await keys.verify(a.key), undefined);
    const revokedAt = (await keys.list()).find((k) => k.id === a.id)?.revokedAt;
    assert.equal(typeof revokedAt, 'number');
  });

  test('a transaction that fails changes nothing', async () => {
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('kv').values({ key: 'tx', value: 'v', updated_at: Date.now() }).execute();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(
      await db.selectFrom('kv').select('key').where('key', '=', 'tx').executeTakeFirst(),
      undefined,
    );
  });
});
