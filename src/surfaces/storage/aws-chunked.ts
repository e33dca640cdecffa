import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { secretsEqual } from '../../auth/secrets.ts';
import {
  type Checksum,
  type ChecksumAlgorithm,
  createChecksum,
  isChecksumAlgorithm,
} from '../../storage/checksums.ts';
import { s3Error } from './s3-errors.ts';
import type { ChunkSigning } from './sigv4.ts';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_LINE = 4096;

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

/**
 * Decodes `Content-Encoding: aws-chunked` bodies while they stream: `<hex size>[;chunk-
 * signature=<sig>]\r\n<data>\r\n…0…\r\n[trailers]\r\n`. With `signing` each chunk's
 * signature is checked against the chain seeded by the request's signature
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); without it chunks are only framed
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER, aws-sdk v3's default for streams). A CRC32 trailer
 * is checked against the decoded bytes. Any failure errors the stream, so the upload's
 * temp file is dropped and nothing is committed.
 */
export class AwsChunkedDecoder extends Transform {
  #state: State = 'header';
  #line = Buffer.alloc(0);
  #remaining = 0;
  #chunkSignature = '';
  #chunkHash: ReturnType<typeof createHash> | undefined;
  #previousSignature: string;
  #crc = 0;
  /** The checksum x-amz-trailer announced, when it is not CRC32 (always computed). */
  readonly #announced: { algorithm: ChecksumAlgorithm; sum: Checksum } | undefined;
  #decodedBytes = 0;
  readonly #signing: ChunkSigning | undefined;
  readonly #expectedLength: number | undefined;
  /** Trailer checksums that matched the decoded bytes, by algorithm (base64). */
  readonly verifiedChecksums: Record<string, string> = {};

  constructor(opts: { signing?: ChunkSigning; decodedLength?: number; trailer?: string }) {
    super();
    this.#signing = opts.signing;
    this.#previousSignature = opts.signing?.seedSignature ?? '';
    this.#expectedLength = opts.decodedLength;
    // x-amz-trailer announces the checksum to come; only that one is computed besides CRC32.
    const announced =
      opts.trailer
        ?.trim()
        .toLowerCase()
        .replace(/^x-amz-checksum-/, '') ?? '';
    if (isChecksumAlgorithm(announced) && announced !== 'crc32') {
      this.#announced = { algorithm: announced, sum: createChecksum(announced) };
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#consume(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.#state !== 'done') {
      done(s3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk', 400));
      return;
    }
    if (this.#expectedLength !== undefined && this.#decodedBytes !== this.#expectedLength) {
      done(s3Error('IncompleteBody', 'x-amz-decoded-content-length does not match the body', 400));
      return;
    }
    done();
  }

  async #consume(input: Buffer): Promise<void> {
    let buf = input;
    while (buf.length > 0) {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, buf.length);
        const data = buf.subarray(0, take);
        this.#chunkHash?.update(data);
        this.#crc = crc32(data, this.#crc);
        this.#announced?.sum.update(data);
        this.#decodedBytes += take;
        this.push(data);
        this.#remaining -= take;
        buf = buf.subarray(take);
        if (this.#remaining === 0) {
          await this.#checkChunkSignature(this.#chunkHash?.digest('hex') ?? EMPTY_SHA256);
          this.#state = 'data-crlf';
        }
        continue;
      }
      if (this.#state === 'done') {
        // Some clients end with an extra CRLF; anything else is garbage.
        if (buf.toString('latin1').trim() !== '')
          throw s3Error('IncompleteBody', 'Data after the final chunk', 400);
        return;
      }
      const nl = buf.indexOf('\n');
      const upTo = nl >= 0 ? nl + 1 : buf.length;
      this.#line = Buffer.concat([this.#line, buf.subarray(0, upTo)]);
      buf = buf.subarray(upTo);
      if (this.#line.length > MAX_LINE) throw s3Error('InvalidRequest', 'aws-chunked line too long', 400);
      if (nl < 0) continue;
      const line = this.#line.toString('latin1').replace(/\r?\n$/, '');
      this.#line = Buffer.alloc(0);
      await this.#onLine(line);
    }
  }

  async #onLine(line: string): Promise<void> {
    if (this.#state === 'data-crlf') {
      if (line !== '') throw s3Error('InvalidRequest', 'Malformed aws-chunked body', 400);
      this.#state = 'header';
      return;
    }
    if (this.#state === 'header') {
      const [sizeText = '', ...exts] = line.split(';');
      const size = Number.parseInt(sizeText, 16);
      if (!/^[0-9a-fA-F]+$/.test(sizeText) || !Number.isSafeInteger(size)) {
        throw s3Error('InvalidRequest', 'Malformed aws-chunked chunk header', 400);
      }
      this.#chunkSignature = exts.find((e) => e.startsWith('chunk-signature='))?.slice(16) ?? '';
      this.#chunkHash = this.#signing ? createHash('sha256') : undefined;
      if (size === 0) {
        await this.#checkChunkSignature(EMPTY_SHA256);
        this.#state = 'trailer';
        return;
      }
      this.#remaining = size;
      this.#state = 'data';
      return;
    }
    // trailer section: `name:value` lines, ended by an empty line
    if (line === '') {
      this.#state = 'done';
      return;
    }
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-checksum-crc32') {
      const actual = Buffer.alloc(4);
      actual.writeUInt32BE(this.#crc >>> 0);
      if (actual.toString('base64') !== value) {
        throw s3Error('BadDigest', 'The CRC32 you specified did not match the calculated checksum.', 400);
      }
      this.verifiedChecksums.crc32 = value;
    } else if (this.#announced && name === `x-amz-checksum-${this.#announced.algorithm}`) {
      const { algorithm, sum } = this.#announced;
      if (sum.digest().toString('base64') !== value) {
        throw s3Error(
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          400,
        );
      }
      this.verifiedChecksums[algorithm] = value;
    }
  }

  async #checkChunkSignature(chunkSha256Hex: string): Promise<void> {
    const s = this.#signing;
    if (!s) return;
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      s.longDate,
      s.scope,
      this.#previousSignature,
      EMPTY_SHA256,
      chunkSha256Hex,
    ].join('\n');
    const expected = await s.signer.sign(stringToSign, {
      signingDate: s.signingDate,
      signingRegion: s.region,
      signingService: s.service,
    });
    if (!secretsEqual(this.#chunkSignature, expected)) {
      throw s3Error('SignatureDoesNotMatch', 'A chunk signature of the aws-chunked body does not match', 403);
    }
    this.#previousSignature = expected;
  }
}
