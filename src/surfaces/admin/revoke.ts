import type { FastifyBaseLogger } from 'fastify';
import type { AppDeps } from '../../http/surface.ts';

/**
 * Revokes a stored key and cancels its queued and running runs: a revoked key (a leaked
 * one, typically) stops spending at once, not when its longest run ends. Returns false when
 * the key was not live.
 */
export async function revokeKey(deps: AppDeps, id: string, log: FastifyBaseLogger): Promise<boolean> {
  if (!(await deps.keys.revoke(id))) return false;
  const active = await deps.engine.list({ state: 'active' });
  const records = await Promise.all(active.map((r) => deps.engine.get(r.id)));
  const ofKey = records.filter((r) => r?.spec.keyId === id).map((r) => r?.id ?? '');
  await Promise.all(ofKey.map((runId) => deps.engine.cancel(runId)));
  log.info({ keyId: id, cancelledRuns: ofKey.length }, 'key revoked');
  return true;
}
