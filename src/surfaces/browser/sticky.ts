import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrowserPool } from '../../browser/pool.ts';
import type { Replica } from '../../browser/replica.ts';

/** The seed's HAProxy pins callers with this cookie; its value names the replica. */
export const STICKY_COOKIE = 'INSTANCEID';

function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * The replica this caller is pinned to, or a fresh pick that the response then pins: a
 * missing or stale cookie (e.g. fewer replicas after a restart) gets a new one.
 */
export function stickyReplica(pool: BrowserPool, req: FastifyRequest, reply: FastifyReply): Replica {
  const pinned = pool.replicaById(cookieValue(req, STICKY_COOKIE));
  if (pinned) return pinned;
  const replica = pool.pick();
  reply.header('set-cookie', `${STICKY_COOKIE}=${replica.id}; Path=/; HttpOnly; SameSite=Lax`);
  return replica;
}
