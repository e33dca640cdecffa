import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';

/**
 * Makes every body of this (encapsulated) scope JSON, whatever its Content-Type says: the
 * seed's claudebox curls send JSON without a Content-Type, which curl labels
 * application/x-www-form-urlencoded. Malformed JSON is an AppError, so each surface
 * renders it in its own protocol's shape.
 */
export function parseBodiesAsJson(
  app: FastifyInstance,
  bodyLimit: number,
  opts: { malformedAs?: symbol } = {},
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      // A surface whose protocol checks auth before the body asks for a marker instead.
      if (opts.malformedAs !== undefined) done(null, opts.malformedAs);
      else done(new AppError('invalid_request', 'Malformed JSON body'), undefined);
    }
  });
}

/** Leaves bodies of this scope as raw streams, for routes that stream uploads to disk. */
export function passBodiesAsStreams(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
}
