import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Every response carries X-Request-Id (for log correlation) and nosniff. */
export function addResponseHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
  });
}

export function newRequestId(): string {
  return randomUUID();
}
