import type { ConfigSource } from '../config/index.ts';
import { prepareDataDir } from '../data-dir.ts';
import { openDatabase } from '../db/open.ts';
import {
  createKeySchema,
  describeIssues,
  type KeyInfo,
  patchKeySchema,
  rotateKeySchema,
} from './key-input.ts';
import { KeyStore } from './key-store.ts';

const USAGE = `usage: agentgate keys create --user NAME [--admin] [scope flags]
       agentgate keys list | show ID | revoke ID
       agentgate keys update ID [scope flags]     (--no-LIMIT lifts a limit, e.g. --no-rpm)
       agentgate keys rotate ID [--grace-s N]     (old secret valid N s more; default 3600)
scope flags: --name S --tier observe|edit|full --surfaces a,b --models glob,glob
             --workspaces PREFIX --rpm N --max-concurrent-runs N --budget-usd X
             --budget-period day|month|total --expires-at ISO-8601 --admin | --no-admin`;

/** Flag → the keys API's field, and how its text becomes the field's value. */
const FLAGS: Record<string, [string, (v: string) => unknown]> = {
  '--user': ['user', String],
  '--name': ['name', String],
  '--tier': ['tier', String],
  '--surfaces': ['surfaces', (v) => v.split(',').filter(Boolean)],
  '--models': ['models', (v) => v.split(',').filter(Boolean)],
  '--workspaces': ['workspaces', String],
  '--rpm': ['rpm', Number],
  '--max-concurrent-runs': ['maxConcurrentRuns', Number],
  '--budget-usd': ['budgetUsd', Number],
  '--budget-period': ['budgetPeriod', String],
  '--expires-at': ['expiresAt', String],
  '--grace-s': ['gracePeriodS', Number],
};

/** The same request body the HTTP API takes, built from flags: one schema judges both. */
function bodyOf(args: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--admin') body.admin = true;
    else if (arg === '--no-admin') body.admin = false;
    else if (arg.startsWith('--no-') && FLAGS[`--${arg.slice(5)}`])
      body[FLAGS[`--${arg.slice(5)}`]?.[0] ?? ''] = null;
    else {
      const flag = FLAGS[arg];
      const value = args[i + 1];
      if (!flag || value === undefined) throw new Error(`unknown or incomplete option ${arg}\n${USAGE}`);
      body[flag[0]] = flag[1](value);
      i += 1;
    }
  }
  return body;
}

function parse<T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError };
  },
  body: unknown,
): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(describeIssues(r.error));
  return r.data;
}

function line(k: KeyInfo): string {
  const state = k.revokedAt
    ? 'revoked'
    : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
      ? 'expired'
      : 'active';
  return [
    k.id,
    k.user,
    k.admin ? 'admin' : 'user',
    k.createdAt ?? k.source,
    state,
    k.tier,
    k.name ?? '',
  ].join('\t');
}

/** `agentgate keys …`: the keys API's operations on the server's store, for an operator's shell. */
export async function runKeysCli(config: ConfigSource, argv: string[]): Promise<void> {
  const c = config.current();
  prepareDataDir(c.DATA_DIR);
  const db = await openDatabase(c.DATA_DIR);
  const keys = new KeyStore(db, () => undefined);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const [sub, ...args] = argv;
    if (sub === 'create') {
      const input = parse(createKeySchema, bodyOf(args));
      const { id, key } = await keys.createKey(input);
      out(key);
      process.stderr.write(`created key ${id} for user ${input.user}; it is shown only once\n`);
    } else if (sub === 'list') {
      for (const k of await keys.list()) out(line(k));
    } else if (sub === 'show' || sub === 'update' || sub === 'rotate' || sub === 'revoke') {
      const [id, ...rest] = args;
      if (!id) throw new Error(`keys ${sub} needs a key id (see keys list)\n${USAGE}`);
      if (sub === 'show') {
        const info = await keys.get(id);
        if (!info) throw new Error(`no key ${id}`);
        out(JSON.stringify(info, null, 2));
      } else if (sub === 'update') {
        out(JSON.stringify(await keys.update(id, parse(patchKeySchema, bodyOf(rest))), null, 2));
      } else if (sub === 'rotate') {
        const { gracePeriodS } = parse(rotateKeySchema, bodyOf(rest));
        const issued = await keys.rotate(id, gracePeriodS);
        out(issued.key);
        process.stderr.write(
          `rotated key ${id}; the new secret is shown only once${issued.info.previousKeyValidUntil ? `; the old one works until ${issued.info.previousKeyValidUntil}` : ''}\n`,
        );
      } else {
        if (!(await keys.revoke(id))) throw new Error(`no active key ${id}`);
        out(`revoked ${id}`);
      }
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await db.destroy();
  }
}
