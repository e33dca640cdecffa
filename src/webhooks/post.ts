import type { LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

/** What one POST gave: a status and the start of the answer, or why it failed. */
export interface PostOutcome {
  httpStatus: number | undefined;
  responseExcerpt: string | undefined;
  error: string | undefined;
}

const EXCERPT_BYTES = 256;

/**
 * POSTs `body` to `url`. With `pinnedAddress` the connection goes to that address whatever
 * DNS says by then (the vetted one: no window for a rebinding answer between the check and
 * the connect); TLS still verifies the URL's host name. No redirects are followed; at most
 * the first bytes of the answer are read, then the connection is dropped.
 */
export function postOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; pinnedAddress?: string },
): Promise<PostOutcome> {
  const pinned = opts.pinnedAddress;
  const lookup =
    pinned === undefined
      ? undefined
      : (
          _host: string,
          o: { all?: boolean },
          cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
        ) => {
          const family = isIP(pinned);
          if (o.all) cb(null, [{ address: pinned, family }]);
          else cb(null, pinned, family);
        };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let isSettled = false;
    const settle = (o: PostOutcome): void => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ...(lookup ? { lookup: lookup as never } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = (): void => {
          // The target's bytes, stored with the attempt: a NUL (binary or gzip answers) is
          // text the store refuses, which would leave the delivery unrecorded and pending.
          const text = Buffer.concat(chunks)
            .subarray(0, EXCERPT_BYTES)
            .toString('utf8')
            .replaceAll('\u0000', '\uFFFD');
          settle({ httpStatus: res.statusCode, responseExcerpt: text, error: undefined });
          res.destroy();
        };
        res.on('data', (c: Buffer) => {
          if (size < EXCERPT_BYTES) chunks.push(c);
          size += c.length;
          if (size >= EXCERPT_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      settle({
        httpStatus: undefined,
        responseExcerpt: undefined,
        error: `no answer within ${opts.timeoutMs} ms`,
      });
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) =>
      settle({ httpStatus: undefined, responseExcerpt: undefined, error: err.code ?? err.message }),
    );
    req.end(body);
  });
}
