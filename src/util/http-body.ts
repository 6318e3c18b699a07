// Reading undici responses: bodies with a size cap, and headers that may repeat.
import { discardBody, type DestroyableBody } from './discard-body.js';

/** A response body: undici's `BodyReadable`, or any async iterable of chunks that can be dropped. */
export type ResponseBody = AsyncIterable<Buffer> & DestroyableBody;

/** A response body read up to a cap. */
export interface CappedBody {
  readonly bytes: Buffer;
  /** The body was longer than the cap: `bytes` holds what came before it, the rest was dropped. */
  readonly isTruncated: boolean;
}

/**
 * Reads `body` up to `maxBytes`; past that it drops the stream at once ({@link discardBody}) and
 * reports the truncation. `onBytes` follows the bytes received so far.
 */
export async function readBodyCapped(
  body: ResponseBody,
  maxBytes: number,
  onBytes?: (totalBytes: number) => void,
): Promise<CappedBody> {
  const parts: Buffer[] = [];
  let totalBytes = 0;
  for await (const part of body) {
    totalBytes += part.length;
    onBytes?.(totalBytes);
    if (totalBytes > maxBytes) {
      discardBody(body);
      return { bytes: Buffer.concat(parts), isTruncated: true };
    }
    parts.push(part);
  }
  return { bytes: Buffer.concat(parts), isTruncated: false };
}

/** The first value of a possibly repeated response header. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
