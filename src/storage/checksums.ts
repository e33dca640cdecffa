import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The x-amz-checksum-* algorithms S3 defines, as they appear in header names. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Digest length in bytes: a header value must be the base64 of exactly this many. */
export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

/** A running checksum over streamed bytes. */
export interface Checksum {
  update(chunk: Buffer): void;
  /** Big-endian digest bytes, as S3 base64-encodes them. */
  digest(): Buffer;
}

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'sha1':
    case 'sha256': {
      const hash = createHash(algorithm);
      return { update: (c) => hash.update(c), digest: () => hash.digest() };
    }
    case 'crc32': {
      let crc = 0;
      return {
        update: (c) => {
          crc = crc32(c, crc);
        },
        digest: () => uint32(crc),
      };
    }
    case 'crc32c':
      return crc32c();
    case 'crc64nvme':
      return crc64nvme();
  }
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

/** Reflected table for a 32-bit CRC polynomial. */
function table32(reflectedPoly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPoly : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

let crc32cTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli), as S3's x-amz-checksum-crc32c. */
function crc32c(): Checksum {
  crc32cTable ??= table32(0x82f63b78);
  const table = crc32cTable;
  let crc = 0xffffffff;
  return {
    update: (chunk) => {
      let c = crc;
      for (let i = 0; i < chunk.length; i++)
        c = (table[(c ^ (chunk[i] as number)) & 0xff] as number) ^ (c >>> 8);
      crc = c;
    },
    digest: () => uint32(crc ^ 0xffffffff),
  };
}

let crc64Tables: { hi: Uint32Array; lo: Uint32Array } | undefined;

/**
 * CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones), as S3's
 * x-amz-checksum-crc64nvme. The 64-bit state is kept as two 32-bit halves: no BigInt per byte.
 */
function crc64nvme(): Checksum {
  if (!crc64Tables) {
    const polyHi = 0x9a6c9329;
    const polyLo = 0xac4bc9b5;
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let h = 0;
      let l = n;
      for (let k = 0; k < 8; k++) {
        const isOdd = l & 1;
        l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
        h = h >>> 1;
        if (isOdd) {
          h = (h ^ polyHi) >>> 0;
          l = (l ^ polyLo) >>> 0;
        }
      }
      hi[n] = h;
      lo[n] = l;
    }
    crc64Tables = { hi, lo };
  }
  const { hi: tHi, lo: tLo } = crc64Tables;
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  return {
    update: (chunk) => {
      let h = hi;
      let l = lo;
      for (let n = 0; n < chunk.length; n++) {
        const i = (l ^ (chunk[n] as number)) & 0xff;
        l = ((l >>> 8) | (h << 24)) ^ (tLo[i] as number);
        h = (h >>> 8) ^ (tHi[i] as number);
      }
      hi = h >>> 0;
      lo = l >>> 0;
    },
    digest: () => {
      const out = Buffer.alloc(8);
      out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
      out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
      return out;
    },
  };
}
