/**
 * Turns the location an agent wrote for an attachment (a tag's `path`, a `MEDIA:` value) into a
 * local path or a remote URL, undoing the encodings agents use for non-ASCII names (openclaw#47032).
 */

/** Where an attachment's bytes come from: a path on this host, or an http(s) URL. */
export type MediaSource =
  { readonly type: 'path'; readonly path: string } | { readonly type: 'url'; readonly url: string };

const HTTP_URL = /^https?:\/\//i;
const FILE_URL = /^file:/i;
/** `file://localhost/…`, `file:///…` and `file:/…`; any other host is not a local file. */
const FILE_URL_PATH = /^file:(?:\/\/(?:localhost)?(?=\/)|(?=\/[^/]))/i;
const OTHER_URL = /^[a-z][a-z\d+.-]*:\/\//i;
const PERCENT_RUN = /(?:%[\da-f]{2})+/gi;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Classifies and decodes an attachment location.
 *
 * - `http://` / `https://` URLs are returned unchanged as `url` sources.
 * - `file:` URLs (`file:///a`, `file://localhost/a`, `file:/a`) become paths, percent-decoded.
 * - Anything else is a path, percent-decoded (`%E4%B8%AD.png` → `中.png`); raw non-ASCII is kept.
 *   Relative paths are returned as they are: the path guard refuses them.
 *
 * @returns `undefined` for an empty value, a `file:` URL naming a remote host or no absolute
 *   path, or another `scheme://` URL (`ftp://`, `s3://`).
 */
export function parseMediaSource(value: string): MediaSource | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (HTTP_URL.test(trimmed)) return { type: 'url', url: trimmed };
  if (FILE_URL.test(trimmed)) {
    const prefix = FILE_URL_PATH.exec(trimmed);
    if (prefix === null) return undefined;
    return { type: 'path', path: decodePercentEncoding(trimmed.slice(prefix[0].length)) };
  }
  if (OTHER_URL.test(trimmed)) return undefined;
  return { type: 'path', path: decodePercentEncoding(trimmed) };
}

/**
 * Decodes `%XX` escapes that form valid UTF-8; escapes that do not (`%zz`, a lone `%E4`, overlong
 * forms) are kept literally, so a name that merely contains `%` survives. Never throws.
 */
export function decodePercentEncoding(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(PERCENT_RUN, decodeEscapeRun);
}

function decodeEscapeRun(run: string): string {
  const bytes = new Uint8Array(run.length / 3);
  for (let k = 0; k < bytes.length; k++) bytes[k] = Number.parseInt(run.slice(3 * k + 1, 3 * k + 3), 16);
  let decoded = '';
  let k = 0;
  while (k < bytes.length) {
    const length = utf8SequenceLength(bytes, k);
    if (length === 0) {
      decoded += run.slice(3 * k, 3 * k + 3);
      k += 1;
    } else {
      decoded += UTF8.decode(bytes.subarray(k, k + length));
      k += length;
    }
  }
  return decoded;
}

/** Length of the valid UTF-8 sequence starting at `k`, or 0 when there is none. */
function utf8SequenceLength(bytes: Uint8Array, k: number): number {
  const lead = bytes[k] ?? 0xff;
  const length = lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
  if (length === 0 || k + length > bytes.length) return 0;
  try {
    UTF8.decode(bytes.subarray(k, k + length));
    return length;
  } catch {
    // A bad continuation byte, an overlong form or a surrogate: keep the escape literally.
    return 0;
  }
}
