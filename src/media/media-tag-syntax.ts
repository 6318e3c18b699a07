/**
 * Scanners for the inline syntax of one line: a `[DING:KIND attr=value …]` tag, and the inline code
 * span that protects one. Kept apart from the document-level filter so the grammar can be read
 * (and tested) on its own.
 *
 * Grammar: `[DING:` (any case), a kind word, then attributes `name=value` separated by whitespace,
 * then `]`. A value is `"…"` or `'…'` (neither may span lines) or unquoted (ends at whitespace or
 * `]`). A tag never spans lines and is at most {@link MAX_MEDIA_TAG_CHARS} long.
 */

/**
 * Longest tag, in chars from `[` to `]` inclusive. A `[DING:` that does not close within it is plain
 * text, which also bounds how much a streaming filter holds back.
 */
export const MAX_MEDIA_TAG_CHARS = 2048;

/** What {@link scanMediaTag} found at a `[DING:` position. */
export type MediaTagScan =
  /** The line so far is too short to tell; only returned while the line is incomplete. */
  | { readonly status: 'need-more' }
  /** Longer than {@link MAX_MEDIA_TAG_CHARS} without closing: the `[` is plain text. */
  | { readonly status: 'not-a-tag' }
  /** The line ended (or the input did) before the tag closed. */
  | { readonly status: 'unterminated' }
  /**
   * A complete tag ending before `end`. `kind` is lower-cased, attribute names are lower-cased and
   * the first occurrence of a name wins. `isMalformed` when the attribute list broke the grammar.
   */
  | {
      readonly status: 'tag';
      readonly end: number;
      readonly kind: string;
      readonly attributes: ReadonlyMap<string, string>;
      readonly isMalformed: boolean;
    };

const TAG_OPENER = '[DING:';
const KIND = /[A-Za-z]*/y;
const ATTRIBUTE_NAME = /[A-Za-z_][\w-]*/y;
const UNQUOTED_VALUE = /[^\s\]]*/y;
const SPACES = /[^\S\n]*/y;
const BACKTICK_RUN = /`+/y;

/**
 * Whether `text` is `[DING:` or a prefix of it, ASCII case-insensitively (no Unicode case folding:
 * the Kelvin sign is not a `k`).
 */
export function isMediaTagOpenerPrefix(text: string): boolean {
  if (text.length > TAG_OPENER.length) return false;
  for (let k = 0; k < text.length; k++) {
    const expected = TAG_OPENER.charAt(k);
    const actual = text.charAt(k);
    if (actual !== expected && actual !== expected.toLowerCase()) return false;
  }
  return true;
}

/**
 * Scans the tag that starts at `line[start]`, which must begin with `[DING:` (any case). `line` holds
 * no `\n`; `isLineComplete` says whether more text can still be appended to it. The result depends
 * only on `line.slice(start, start + MAX_MEDIA_TAG_CHARS)` and, when the line ends inside that
 * window, on `isLineComplete`, so a streaming caller gets the same answer however input is split.
 */
export function scanMediaTag(line: string, start: number, isLineComplete: boolean): MediaTagScan {
  const limit = start + MAX_MEDIA_TAG_CHARS;
  // Parsing a slice bounds every lookup to the window, whatever follows on a long line.
  const text = line.slice(0, limit);
  const ranOut = (): MediaTagScan =>
    text.length === limit
      ? { status: 'not-a-tag' }
      : isLineComplete
        ? { status: 'unterminated' }
        : { status: 'need-more' };

  // Every way to finish a tag needs a `]`; without one the answer is known without parsing.
  if (!text.includes(']', start)) return ranOut();
  let pos = start + TAG_OPENER.length;
  const kind = matchAt(KIND, text, pos);
  pos += kind.length;
  const attributes = new Map<string, string>();
  for (;;) {
    pos += matchAt(SPACES, text, pos).length;
    if (pos >= text.length) return ranOut();
    if (text.charAt(pos) === ']') {
      return { status: 'tag', end: pos + 1, kind: kind.toLowerCase(), attributes, isMalformed: false };
    }
    const attribute = scanAttribute(text, pos);
    if (attribute === 'ran-out') return ranOut();
    if (attribute === 'malformed') break;
    const name = attribute.name.toLowerCase();
    if (!attributes.has(name)) attributes.set(name, attribute.value);
    pos = attribute.end;
  }
  // Error recovery: the tag still ends at the next `]`, so nothing of it is left behind as text.
  const close = text.indexOf(']', pos);
  if (close === -1) return ranOut();
  return { status: 'tag', end: close + 1, kind: kind.toLowerCase(), attributes, isMalformed: true };
}

type AttributeScan = { name: string; value: string; end: number } | 'ran-out' | 'malformed';

/** One `name=value` in `text` (already cut to the tag window) at `start`. */
function scanAttribute(text: string, start: number): AttributeScan {
  const name = matchAt(ATTRIBUTE_NAME, text, start);
  if (name === '') return 'malformed';
  let pos = start + name.length;
  pos += matchAt(SPACES, text, pos).length;
  if (pos >= text.length) return 'ran-out';
  if (text.charAt(pos) !== '=') return 'malformed';
  pos += 1;
  pos += matchAt(SPACES, text, pos).length;
  if (pos >= text.length) return 'ran-out';
  const quote = text.charAt(pos);
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, pos + 1);
    if (close === -1) return 'ran-out';
    return { name, value: text.slice(pos + 1, close), end: close + 1 };
  }
  const value = matchAt(UNQUOTED_VALUE, text, pos);
  // An unquoted value touching the end of what we have may still grow.
  if (pos + value.length >= text.length) return 'ran-out';
  return { name, value, end: pos + value.length };
}

/**
 * End of the literal text starting with the backtick run at `pos`: after the closing run of an
 * inline code span (same length, starting within MAX_MEDIA_TAG_CHARS of the opener, same line),
 * else after the run itself. `undefined` while the line so far cannot tell. Like
 * {@link scanMediaTag}, the answer does not depend on how much of the line beyond the window is known.
 */
export function codeSpanEnd(line: string, pos: number, isComplete: boolean): number | undefined {
  const length = matchAt(BACKTICK_RUN, line, pos).length;
  const runEnd = pos + length;
  if (runEnd === line.length && !isComplete) return undefined;
  const limit = runEnd + MAX_MEDIA_TAG_CHARS;
  // Searching a slice keeps each lookup within the window on a long line.
  const window = line.slice(0, limit);
  for (let from = runEnd; ;) {
    const next = window.indexOf('`', from);
    if (next === -1) return isComplete || line.length >= limit ? runEnd : undefined;
    const end = next + matchAt(BACKTICK_RUN, line, next).length;
    if (end === line.length && !isComplete) return undefined;
    if (end - next === length) return end;
    from = end;
  }
}

function matchAt(pattern: RegExp, text: string, pos: number): string {
  pattern.lastIndex = pos;
  return pattern.exec(text)?.[0] ?? '';
}
