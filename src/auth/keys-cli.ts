import type { ConfigSource } from '../config/index.ts';
import { prepareDataDir } from '../data-dir.ts';
import { openDatabase } from '../db/open.ts';
import { KeyStore } from './key-store.ts';

/** `agentgate keys create --user NAME [--admin] | list | revoke ID`: keys kept (hashed) in the store. */
export async function runKeysCli(config: ConfigSource, argv: string[]): Promise<void> {
  const c = config.current();
  prepareDataDir(c.DATA_DIR);
  const db = await openDatabase({ dataDir: c.DATA_DIR, databaseUrl: c.DATABASE_URL });
  const keys = new KeyStore(db, () => undefined);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const [sub, ...args] = argv;
    if (sub === 'create') {
      const i = args.indexOf('--user');
      const user = i >= 0 ? args[i + 1] : undefined;
      if (!user) throw new Error('keys create needs --user NAME');
      const { id, key } = await keys.create(user, args.includes('--admin'));
      out(key);
      process.stderr.write(`created key ${id} for user ${user}; it is shown only once\n`);
    } else if (sub === 'list') {
      for (const k of await keys.list()) {
        out(
          `${k.id}\t${k.userId}\t${k.isAdmin ? 'admin' : 'user'}\t${new Date(k.createdAt).toISOString()}\t${k.revokedAt ? 'revoked' : 'active'}`,
        );
      }
    } else if (sub === 'revoke') {
      const id = args[0];
      if (!id) throw new Error('keys revoke needs a key id (see keys list)');
      if (!(await keys.revoke(id))) throw new Error(`no active key ${id}`);
      out(`revoked ${id}`);
    } else {
      throw new Error('usage: agentgate keys create --user NAME [--admin] | keys list | keys revoke ID');
    }
  } finally {
    await db.destroy();
  }
}
