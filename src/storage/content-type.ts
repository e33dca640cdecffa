import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes type detection looks at (file-type's own sample size). */
export const SNIFF_BYTES = 4100;

/**
 * Labels that say nothing about the content: boto3 and curl -T send none, curl -d sends
 * the form type, SDKs default to octet-stream. These get a type detected from the bytes.
 */
const UNINFORMATIVE = new Set([
  '',
  'application/octet-stream',
  'binary/octet-stream',
  'application/x-www-form-urlencoded',
]);

export function isInformativeType(contentType: string | undefined): contentType is string {
  if (contentType === undefined) return false;
  const base = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return !UNINFORMATIVE.has(base);
}

/** The type of content from its first bytes; text/plain for NUL-free UTF-8, else octet-stream. */
export async function detectContentType(head: Buffer): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  if (head.length === 0) return 'application/octet-stream';
  return looksLikeText(head) ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  // The sample may cut a multi-byte character: drop up to 3 trailing bytes before decoding.
  for (let cut = 0; cut < 4 && cut < head.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try a shorter sample
    }
  }
  return false;
}
