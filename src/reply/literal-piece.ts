/**
 * The chunker's last resort: a piece of reply sent as a literal code block, for text that no boundary
 * can keep balanced as markdown (fence runs too long to reopen, a fence-like line longer than a chunk).
 */

import { MIN_FILL_RATIO, trimmedEnd } from './break-points.js';
import { fenceLikeCharAt, type FenceChar } from './fences.js';
import { graphemeBoundaryAtOrBefore, surrogateSafeIndex } from './text-width.js';

/** Chunk text and the end offset of the original text it covers. @internal */
export interface Piece {
  readonly text: string;
  readonly end: number;
}

/** Where a literal piece may come from. @internal */
export interface LiteralRange {
  /** Where the piece text starts (a line start keeps indentation). */
  readonly contentStart: number;
  /** First visible character, at or after `contentStart` on the same line. */
  readonly firstVisible: number;
  /** End of the last visible character of the whole text. */
  readonly contentEnd: number;
  readonly maxChars: number;
}

const LITERAL_FENCE_RUN_CHARS = 3;
const LF = 0x0a;

/**
 * End of a literal piece fenced with `char`: before the first later line that starts like a fence of
 * that character (cut short or not, it could close the fence), else at a line break late in the
 * window, else on a grapheme boundary at `limit`.
 */
function literalEnd(text: string, range: LiteralRange, limit: number, char: FenceChar): number {
  let lastNewline = -1;
  for (let index = range.firstVisible; index < limit; index++) {
    if (text.charCodeAt(index) !== LF) continue;
    if (fenceLikeCharAt(text, index + 1) === char) return trimmedEnd(text, index);
    lastNewline = index;
  }
  if (limit >= range.contentEnd) return range.contentEnd;
  const minFillEnd = range.contentStart + (limit - range.contentStart) * MIN_FILL_RATIO;
  if (lastNewline !== -1 && trimmedEnd(text, lastNewline) >= minFillEnd) return trimmedEnd(text, lastNewline);
  const end = graphemeBoundaryAtOrBefore(text, limit);
  return end > range.firstVisible ? end : Math.max(range.firstVisible + 1, surrogateSafeIndex(text, limit));
}

/**
 * The text from `range` as a code block of at most `range.maxChars` chars, fenced with the character
 * its first line does not start with so that no line inside can close it: always balanced, and always
 * covers at least one visible character. Linear in `range.maxChars`. @internal
 */
export function literalPiece(text: string, range: LiteralRange): Piece {
  const fenceChars = 2 * (LITERAL_FENCE_RUN_CHARS + 1);
  const limit = Math.min(range.contentEnd, range.contentStart + range.maxChars - fenceChars);
  const firstLineChar = fenceLikeCharAt(text, range.firstVisible);
  const backtickEnd = firstLineChar === '`' ? -1 : literalEnd(text, range, limit, '`');
  const tildeEnd = firstLineChar === '~' ? -1 : literalEnd(text, range, limit, '~');
  const end = Math.max(backtickEnd, tildeEnd);
  const fence = (tildeEnd > backtickEnd ? '~' : '`').repeat(LITERAL_FENCE_RUN_CHARS);
  return { text: `${fence}\n${text.slice(range.contentStart, end).trimEnd()}\n${fence}`, end };
}
