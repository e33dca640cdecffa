import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The caller's interest in a run: aborts when the connection closes before the response
 * was completely written (or was already gone when the route ran). Surfaces pass it to
 * RunEngine.submit, so a client that gives up cancels its run and kills its processes.
 */
export function clientGoneSignal(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  req.raw.once('aborted', () => ac.abort());
  if (req.raw.socket?.destroyed) ac.abort();
  return ac.signal;
}
