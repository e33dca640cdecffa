import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { secretsEqual } from '../../auth/secrets.ts';
import type { S3Target } from './request-target.ts';
import { s3Error } from './s3-errors.ts';

/** S3 refuses header-signed requests whose X-Amz-Date is further than this from its clock. */
export const MAX_SKEW_MS = 15 * 60_000;
/** The longest a presigned URL may live (SigV4's own limit: 7 days). */
export const MAX_PRESIGN_S = 604_800;

/** One secret an access key id may sign with, and whom a match proves the caller is. */
export interface Candidate<P> {
  secret: string;
  principal: P;
}

/** What a verified streaming upload needs to check each chunk's signature. */
export interface ChunkSigning {
  signer: SignatureV4;
  signingDate: Date;
  longDate: string;
  scope: string;
  region: string;
  service: string;
  seedSignature: string;
}

export interface Verified<P> {
  principal: P;
  /** The x-amz-content-sha256 value the signature covers (header form). */
  payloadHash: string | undefined;
  chunkSigning: ChunkSigning;
}

interface SignatureParts {
  accessKeyId: string;
  shortDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  longDate: string;
}

const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/;
const LONG_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseCredential(text: string): Omit<SignatureParts, 'signedHeaders' | 'signature' | 'longDate'> {
  const m = CREDENTIAL.exec(text.trim());
  if (!m) throw s3Error('AuthorizationHeaderMalformed', 'The Credential is malformed', 400);
  return {
    accessKeyId: m[1] as string,
    shortDate: m[2] as string,
    region: m[3] as string,
    service: m[4] as string,
  };
}

function parseLongDate(text: string | undefined): Date {
  const m = text ? LONG_DATE.exec(text) : null;
  if (!m) throw s3Error('AccessDenied', 'X-Amz-Date is missing or malformed', 403);
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * S3 obeys only the x-amz-* headers a signature covers: an unsigned one (a copy source,
 * a metadata directive, user metadata, a streaming payload mode…) could be added by
 * anyone holding a presigned URL or replaying a request. `allowed` lists the exceptions.
 */
function refuseUnsignedAmzHeaders(
  headers: IncomingHttpHeaders,
  signedHeaders: string[],
  allowed: (name: string, value: string) => boolean = () => false,
): void {
  const signed = new Set(signedHeaders);
  const unsigned = Object.keys(headers).filter(
    (name) => name.startsWith('x-amz-') && !signed.has(name) && !allowed(name, header(headers, name) ?? ''),
  );
  if (unsigned.length > 0) {
    throw s3Error(
      'AccessDenied',
      `There were headers present in the request which were not signed: ${unsigned.sort().join(', ')}`,
      403,
    );
  }
}

/** Both signature forms must cover Host: otherwise a signed request replays against any host. */
function requireSignedHost(signedHeaders: string[]): void {
  if (!signedHeaders.includes('host')) {
    throw s3Error('AccessDenied', 'The Host header must be signed', 403);
  }
}

function signerFor(accessKeyId: string, secret: string, parts: SignatureParts): SignatureV4 {
  // S3 signs the path as sent (no second encoding, no dot-segment removal): uriEscapePath off.
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret },
    region: parts.region,
    service: parts.service,
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/**
 * The text a client signed for a header value. Node hands us the raw bytes as latin1; a
 * client signs its own string, which reaches us UTF-8 encoded (aws-sdk on Node) or latin1
 * encoded (botocore). Bytes that are valid UTF-8 were UTF-8; anything else was latin1.
 */
function signedText(raw: string): string {
  if (!/[\u0080-\uffff]/.test(raw)) return raw;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(raw, 'latin1'));
  } catch {
    return raw;
  }
}

/** The signed headers as the client sent them, plus the payload hash the signature covers. */
function requestFor(
  method: string,
  target: S3Target,
  headers: IncomingHttpHeaders,
  signedHeaders: string[],
  dropQuery: Set<string>,
): HttpRequest {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of target.query) {
    if (dropQuery.has(name)) continue;
    const prior = query[name];
    query[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  const signed: Record<string, string> = {};
  for (const name of signedHeaders) signed[name] = signedText(header(headers, name) ?? '');
  return new HttpRequest({
    method,
    protocol: 'http:',
    hostname: 'unused',
    path: target.rawPath,
    query,
    headers: signed,
  });
}

async function firstMatch<P>(
  candidates: Candidate<P>[],
  given: string,
  compute: (secret: string) => Promise<{ signature: string; signer: SignatureV4 }>,
): Promise<{ principal: P; signer: SignatureV4 } | undefined> {
  // Every candidate is tried, so timing does not tell which secret (bucket or master) matched.
  let found: { principal: P; signer: SignatureV4 } | undefined;
  for (const c of candidates) {
    const { signature, signer } = await compute(c.secret);
    if (secretsEqual(given, signature) && !found) found = { principal: c.principal, signer };
  }
  return found;
}

/** Verifies `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export async function verifyHeaderSignature<P>(
  method: string,
  target: S3Target,
  headers: IncomingHttpHeaders,
  candidatesFor: (accessKeyId: string) => Candidate<P>[],
  nowMs: number,
): Promise<Verified<P>> {
  const auth = header(headers, 'authorization') ?? '';
  const fields = new Map<string, string>();
  for (const part of auth.replace(/^AWS4-HMAC-SHA256\s+/, '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw s3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed', 400);
  }
  const longDate = header(headers, 'x-amz-date') ?? '';
  const signingDate = parseLongDate(longDate);
  if (Math.abs(signingDate.getTime() - nowMs) > MAX_SKEW_MS) {
    throw s3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      403,
    );
  }
  const parts: SignatureParts = {
    ...parseCredential(credential),
    signedHeaders: signedHeaders.split(';'),
    signature,
    longDate,
  };
  const payloadHash = header(headers, 'x-amz-content-sha256');
  // Without a signed payload hash the body is not covered: anyone could swap it.
  if (payloadHash === undefined) {
    throw s3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
  }
  requireSignedHost(parts.signedHeaders);
  refuseUnsignedAmzHeaders(headers, parts.signedHeaders);
  const request = requestFor(method, target, headers, parts.signedHeaders, new Set());
  const match = await firstMatch(candidatesFor(parts.accessKeyId), signature, async (secret) => {
    const signer = signerFor(parts.accessKeyId, secret, parts);
    const signed = await signer.sign(request, {
      signingDate,
      signableHeaders: new Set(parts.signedHeaders),
      signingRegion: parts.region,
      signingService: parts.service,
    });
    const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] ?? '';
    return { signature: expected, signer };
  });
  if (!match) throw signatureMismatch(candidatesFor(parts.accessKeyId).length);
  return {
    principal: match.principal,
    payloadHash,
    chunkSigning: {
      signer: match.signer,
      signingDate,
      longDate,
      scope: `${parts.shortDate}/${parts.region}/${parts.service}/aws4_request`,
      region: parts.region,
      service: parts.service,
      seedSignature: signature,
    },
  };
}

const PRESIGN_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
]);

/** Verifies a presigned (query-signed) URL: X-Amz-Algorithm, -Credential, -Date, -Expires, … */
export async function verifyQuerySignature<P>(
  method: string,
  target: S3Target,
  headers: IncomingHttpHeaders,
  candidatesFor: (accessKeyId: string) => Candidate<P>[],
  nowMs: number,
): Promise<P> {
  const q = new Map(target.query);
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    throw s3Error('AuthorizationQueryParametersError', 'Only AWS4-HMAC-SHA256 is supported', 400);
  }
  const signature = q.get('X-Amz-Signature') ?? '';
  const expiresS = Number(q.get('X-Amz-Expires'));
  // A URL valid for no time, negative time or over SigV4's week is never valid: 403 as S3 answers.
  if (!Number.isInteger(expiresS) || expiresS < 1 || expiresS > MAX_PRESIGN_S) {
    throw s3Error('AccessDenied', `X-Amz-Expires must be from 1 to ${MAX_PRESIGN_S} seconds`, 403);
  }
  const longDate = q.get('X-Amz-Date') ?? '';
  const signingDate = parseLongDate(longDate);
  if (nowMs > signingDate.getTime() + expiresS * 1000)
    throw s3Error('AccessDenied', 'Request has expired', 403);
  if (signingDate.getTime() - nowMs > MAX_SKEW_MS) {
    throw s3Error('RequestTimeTooSkewed', 'The request is signed for a time too far in the future.', 403);
  }
  const parts: SignatureParts = {
    ...parseCredential(q.get('X-Amz-Credential') ?? ''),
    signedHeaders: (q.get('X-Amz-SignedHeaders') ?? 'host').split(';'),
    signature,
    longDate,
  };
  requireSignedHost(parts.signedHeaders);
  // A presigned URL's payload is unsigned by definition; saying so in a header changes nothing.
  refuseUnsignedAmzHeaders(
    headers,
    parts.signedHeaders,
    (name, value) => name === 'x-amz-content-sha256' && value === 'UNSIGNED-PAYLOAD',
  );
  const request = requestFor(method, target, headers, parts.signedHeaders, PRESIGN_PARAMS);
  // Presigned S3 URLs sign an unsigned payload; that value is not itself a signed header.
  request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  const keepAsHeaders = new Set([...parts.signedHeaders, 'x-amz-content-sha256']);
  const match = await firstMatch(candidatesFor(parts.accessKeyId), signature, async (secret) => {
    const signer = signerFor(parts.accessKeyId, secret, parts);
    const signed = await signer.presign(request, {
      signingDate,
      expiresIn: expiresS,
      signableHeaders: new Set(parts.signedHeaders),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      unhoistableHeaders: keepAsHeaders,
      signingRegion: parts.region,
      signingService: parts.service,
    });
    return { signature: String(signed.query?.['X-Amz-Signature'] ?? ''), signer };
  });
  if (!match) throw signatureMismatch(candidatesFor(parts.accessKeyId).length);
  return match.principal;
}

function signatureMismatch(candidateCount: number) {
  if (candidateCount === 0) {
    return s3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      403,
    );
  }
  return s3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    403,
  );
}

/** Builds a presigned GET URL for `path` on `host` (what POST /storage/presign hands out). */
export async function presignGet(opts: {
  host: string;
  protocol: string;
  path: string;
  accessKeyId: string;
  secret: string;
  expiresS: number;
  now: Date;
}): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secret },
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: `${opts.protocol}:`,
    hostname: opts.host,
    path: opts.path,
    headers: { host: opts.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const signed = await signer.presign(request, {
    signingDate: opts.now,
    expiresIn: opts.expiresS,
    unsignableHeaders: new Set(['x-amz-content-sha256']),
    unhoistableHeaders: new Set(['x-amz-content-sha256']),
  });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${opts.protocol}://${opts.host}${opts.path}?${query}`;
}
