import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrowserPool, Claim } from '../../browser/pool.ts';

/** The seed's HAProxy pins callers with this cookie; here its value is the caller's unguessable instance id. */
export const STICKY_COOKIE = 'INSTANCEID';

export function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined; // malformed escapes: treated as no cookie
      }
    }
  }
  return undefined;
}

/**
 * The replica `owner` holds under the caller's INSTANCEID, or a new one that the response
 * then pins. A missing or stale id, or one held by another owner, gets the caller a replica
 * of its own: never someone else's.
 */
export function claimReplica(
  pool: BrowserPool,
  owner: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Claim {
  const claim = pool.claim(owner, cookieValue(req, STICKY_COOKIE));
  if (claim.isNew) {
    reply.header('set-cookie', `${STICKY_COOKIE}=${claim.instanceId}; Path=/; HttpOnly; SameSite=Lax`);
  }
  reply.header('x-browser-replica', claim.replica.id);
  return claim;
}
