/**
 * HTTP-level helpers of the OpenClaw chat client: header encoding, bounded body reading, and turning a
 * non-2xx answer (JSON or not, with or without `Retry-After`) into an {@link OpenClawHttpError}.
 */
import type { IncomingHttpHeaders } from 'node:http';

import { OpenClawHttpError } from '../errors.js';
import { firstHeader, readBodyCapped, type ResponseBody } from '../util/http-body.js';
import { OpenClawErrorBody } from './schema.js';

/** Most of an error body read for the snippet; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Strings {@link encodeHeaderValue} leaves as they are: `!`..`~` without `%`. */
const HEADER_SAFE = /^[\x21-\x24\x26-\x7e]*$/;
const UTF8 = new TextEncoder();

/**
 * Makes a string safe for an HTTP header value: UTF-8 bytes outside `!`..`~`, and `%` itself, become
 * `%XX` (uppercase hex). So a CJK session key is sent percent-encoded, space and control characters
 * cannot break or be trimmed from the header, and distinct keys stay distinct. OpenClaw does not
 * decode it: the encoded form is the stored session key. Plain ASCII keys pass unchanged.
 */
export function encodeHeaderValue(value: string): string {
  if (HEADER_SAFE.test(value)) return value; // the usual session key: nothing to encode
  let out = '';
  for (const byte of UTF8.encode(value)) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Milliseconds to wait from a `Retry-After` value (delay-seconds or an HTTP date); `undefined` when
 * absent or unparseable. A date in the past gives 0.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/**
 * Reads a non-2xx answer (at most `MAX_ERROR_BODY_BYTES` of its body) into an {@link OpenClawHttpError}.
 * Never throws: a body that breaks off leaves the status alone.
 * @internal
 */
export async function toHttpError(
  head: { readonly statusCode: number; readonly headers: IncomingHttpHeaders },
  body: ResponseBody,
): Promise<OpenClawHttpError> {
  let raw = '';
  try {
    raw = (await readText(body, MAX_ERROR_BODY_BYTES)) ?? '';
  } catch {
    // The status alone is still worth reporting when the body breaks off.
  }
  return new OpenClawHttpError({
    status: head.statusCode,
    body: raw,
    apiMessage: apiMessageOf(parseJson(raw)),
    retryAfterMs: parseRetryAfterMs(firstHeader(head.headers['retry-after']), Date.now()),
  });
}

/**
 * The message of `{"error":{"message"}}`, tolerating `{"error":"…"}` and `{"message":"…"}`.
 * @internal
 */
export function apiMessageOf(json: unknown): string | undefined {
  const parsed = OpenClawErrorBody.safeParse(json);
  if (parsed.success) return parsed.data.error.message;
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  if (typeof record['error'] === 'string') return record['error'];
  return typeof record['message'] === 'string' ? record['message'] : undefined;
}

/**
 * Reads a body as UTF-8 up to `maxBytes`; `undefined` (and the body destroyed) when it is longer.
 * `progress.bodyBytes`, when given, follows the bytes received so far.
 * @internal
 */
export async function readText(
  body: ResponseBody,
  maxBytes: number,
  progress?: { bodyBytes: number },
): Promise<string | undefined> {
  const onBytes = progress === undefined ? undefined : (total: number) => (progress.bodyBytes = total);
  const { bytes, isTruncated } = await readBodyCapped(body, maxBytes, onBytes);
  return isTruncated ? undefined : bytes.toString('utf8');
}

/**
 * `JSON.parse`, or `undefined` when the text is not JSON.
 * @internal
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
