/**
 * Splits a long agent reply into DingTalk-sized markdown messages at the most natural boundary,
 * keeping fenced code blocks whole when possible and balanced always.
 */

import {
  BREAK_LEVEL,
  isSpace,
  MIN_FILL_RATIO,
  forEachBreak,
  findInlineSpans,
  firstEndingAfter,
  nextVisible,
  startsBlockSyntax,
  trimmedEnd,
  type Span,
} from './break-points.js';
import { fenceLikeCharAt, findFencedBlocks, leavesFenceOpen, type FencedBlock } from './fences.js';
import { literalPiece, type Piece } from './literal-piece.js';
import { graphemeBoundaryAtOrBefore, surrogateSafeIndex } from './text-width.js';

// Kept importable from here for callers that predate fences.ts.
export { findFencedBlocks, type FencedBlock } from './fences.js';

/** Chunk size used when the configuration does not set one (chars, JS string length). */
export const DEFAULT_REPLY_MAX_CHARS = 1800;

/** Smallest `maxChars` {@link chunkReply} accepts; below it fence bookkeeping leaves no room for text. */
export const MIN_REPLY_MAX_CHARS = 50;

/** One message-sized piece of a reply. */
export interface ReplyChunk {
  /**
   * What to send: may add a fence closer at the end / a fence opener at the start when a code block
   * is split, or a fence line at both ends when the piece can only be balanced as a literal block.
   */
  readonly text: string;
  /**
   * [start, end) offsets of the original text this chunk covers; chunks cover the input contiguously
   * with no gaps or overlaps.
   */
  readonly start: number;
  readonly end: number;
}

/** Reopen line + closer may use at most this share of `maxChars`; beyond it a block is split as text. */
const MAX_FENCE_OVERHEAD_RATIO = 0.5;
/** Leading indentation kept at a chunk start (markdown meaning) unless it eats this share of `maxChars`. */
const MAX_KEPT_INDENT_RATIO = 0.25;
/** Grapheme boundaries tried before a hard cut gives up on avoiding a block-syntax chunk start. */
const MAX_HARD_CUT_RETREATS = 16;

const LF = 0x0a;
const { none: NONE, line: LINE, paragraph: PARAGRAPH } = BREAK_LEVEL;

interface FenceLayout {
  readonly block: FencedBlock;
  /** First offset no longer inside the block; unclosed blocks never end. */
  readonly until: number;
  /** Prepended to a chunk that starts inside the block. */
  readonly reopen: string;
  /** Appended to a chunk that ends inside the block. */
  readonly closer: string;
  readonly isSplittable: boolean;
  /** The whole block fits one chunk, so splitting it is never necessary. */
  readonly fitsAlone: boolean;
  /** End of the content before the opening line: breaking here keeps the block in one piece. */
  readonly breakBefore: number;
}

interface ChunkContext {
  readonly text: string;
  readonly maxChars: number;
  readonly fences: readonly FenceLayout[];
  /** Links and code spans, sorted and disjoint: a break inside would show their raw markup. */
  readonly inlineSpans: readonly Span[];
  /** End of the last non-whitespace character. */
  readonly contentEnd: number;
}

interface PieceStart {
  /** Where the chunk text starts: the first visible character, or its line start to keep indentation. */
  readonly contentStart: number;
  readonly firstVisible: number;
  /** Fence reopen line when the chunk starts inside a split code block. */
  readonly prefix: string;
}

interface Candidate {
  level: number;
  end: number;
}

function layoutFence(text: string, maxChars: number, block: FencedBlock, contentEnd: number): FenceLayout {
  const maxOverheadChars = maxChars * MAX_FENCE_OVERHEAD_RATIO;
  const closer = `\n${block.indent}${block.marker}`;
  const fullReopen = `${block.openLine}\n`;
  // A huge info string must not starve the chunk; the bare fence still balances the block.
  const reopen =
    fullReopen.length + closer.length <= maxOverheadChars ? fullReopen : `${block.indent}${block.marker}\n`;
  const blockChars = block.isClosed
    ? block.end - block.openStart
    : Math.max(contentEnd - block.openStart, 0) + closer.length;
  return {
    block,
    until: block.isClosed ? block.end : Number.POSITIVE_INFINITY,
    reopen,
    closer,
    isSplittable: reopen.length + closer.length <= maxOverheadChars,
    fitsAlone: blockChars <= maxChars,
    breakBefore: trimmedEnd(text, block.openStart),
  };
}

function createContext(text: string, maxChars: number): ChunkContext {
  const contentEnd = trimmedEnd(text, text.length);
  const fences = findFencedBlocks(text).map((block) => layoutFence(text, maxChars, block, contentEnd));
  return { text, maxChars, fences, inlineSpans: findInlineSpans(text), contentEnd };
}

const fenceUntil = (fence: FenceLayout): number => fence.until;
const spanEnd = (span: Span): number => span.end;

/** The splittable block that a chunk ending (or starting) at `position` would cut through. */
function splitFenceAt(fences: readonly FenceLayout[], position: number): FenceLayout | undefined {
  const fence = fences[firstEndingAfter(fences, position, fenceUntil)];
  return fence?.isSplittable === true && fence.block.openStart < position ? fence : undefined;
}

function isFenceLikeLine(text: string, lineStart: number): boolean {
  return fenceLikeCharAt(text, lineStart) !== undefined;
}

/** Upper bound of the chunk text length when the chunk ends at `end` (trimming only shortens it). */
function pieceChars(context: ChunkContext, start: PieceStart, end: number): number {
  const closerChars = splitFenceAt(context.fences, end)?.closer.length ?? 0;
  return start.prefix.length + (end - start.contentStart) + closerChars;
}

/** Picks the end of a chunk that does not fit: best break level in the far part, then anywhere. */
function chooseBreak(context: ChunkContext, start: PieceStart): number {
  const { text, maxChars, fences, inlineSpans } = context;
  const budget = maxChars - start.prefix.length;
  const limit = Math.min(text.length, start.contentStart + budget);
  const farFrom = start.contentStart + Math.ceil(budget * MIN_FILL_RATIO);
  const far: Candidate = { level: NONE, end: 0 };
  const near: Candidate = { level: NONE, end: 0 };
  const discouraged: Candidate = { level: NONE, end: 0 };
  let fenceIndex = firstEndingAfter(fences, start.firstVisible, fenceUntil);
  let spanIndex = firstEndingAfter(inlineSpans, start.firstVisible, spanEnd);
  const window = { lineStart: start.contentStart, from: start.firstVisible, limit };
  forEachBreak(text, window, (end, breakLevel) => {
    let level: number = breakLevel;
    while ((fences[fenceIndex]?.until ?? Infinity) <= end) fenceIndex++;
    while ((inlineSpans[spanIndex]?.end ?? Infinity) <= end) spanIndex++;
    const fence = fences[fenceIndex];
    const isFenceEdge = fence?.breakBefore === end || fences[fenceIndex - 1]?.block.end === end;
    if (level === LINE && isFenceEdge) level = PARAGRAPH;
    let slot = end >= farFrom ? far : near;
    if (fence?.isSplittable === true && fence.block.openStart < end) {
      // Inside a code block only line breaks are acceptable, and never on the opening line itself.
      if (end < fence.block.bodyStart || level < LINE || pieceChars(context, start, end) > maxChars) return;
      // Breaking before the closing line would send a next chunk holding nothing but an empty block.
      const isLastLine = nextVisible(text, end) >= fence.block.closeStart;
      if (fence.fitsAlone || isLastLine) slot = discouraged;
    } else if ((inlineSpans[spanIndex]?.start ?? Infinity) < end) {
      slot = discouraged;
    }
    if (level >= slot.level) {
      slot.level = level;
      slot.end = end;
    }
  });
  const chosen = [far, near, discouraged].find((candidate) => candidate.level !== NONE);
  return chosen?.end ?? hardCut(context, start, limit, farFrom);
}

/** Where a hard cut may go: within the length limit, not on an opening fence line, no new block syntax. */
function isAcceptableCut(context: ChunkContext, start: PieceStart, end: number): boolean {
  const { text, maxChars, fences } = context;
  if (pieceChars(context, start, end) > maxChars) return false;
  const fence = splitFenceAt(fences, end);
  if (fence !== undefined && end < fence.block.bodyStart) return false;
  const next = nextVisible(text, end);
  return text.slice(end, next).includes('\n') || !startsBlockSyntax(text, next);
}

/** No break in the window: cut at the budget on a grapheme boundary, before a link or code span if cheap. */
function hardCut(context: ChunkContext, start: PieceStart, limit: number, farFrom: number): number {
  const { text, fences, inlineSpans } = context;
  let end = limit - (splitFenceAt(fences, limit)?.closer.length ?? 0);
  const span = inlineSpans[firstEndingAfter(inlineSpans, end, spanEnd)];
  if (span !== undefined && span.start < end && span.start >= farFrom) end = span.start;
  let lineStart = end;
  while (lineStart > start.contentStart && text.charCodeAt(lineStart - 1) !== LF) lineStart--;
  // Cut short, a line that starts like a fence (outside a real block) would open one at this chunk's end.
  const isCodeLine = splitFenceAt(fences, lineStart) !== undefined;
  const endBeforeLine = trimmedEnd(text, lineStart);
  if (
    lineStart > start.contentStart &&
    !isCodeLine &&
    isFenceLikeLine(text, lineStart) &&
    endBeforeLine > start.firstVisible
  ) {
    end = endBeforeLine;
  }
  const minEnd = start.firstVisible + 1;
  for (let attempt = 0; attempt < MAX_HARD_CUT_RETREATS; attempt++) {
    end = graphemeBoundaryAtOrBefore(text, end);
    if (end < minEnd) break;
    if (isAcceptableCut(context, start, end)) return end;
    end -= 1;
  }
  return Math.max(
    minEnd,
    surrogateSafeIndex(text, limit - (splitFenceAt(fences, limit)?.closer.length ?? 0)),
  );
}

function findPieceStart(context: ChunkContext, position: number): PieceStart | undefined {
  const { text, maxChars } = context;
  let lineStart = position === 0 || text.charCodeAt(position - 1) === LF ? position : undefined;
  let firstVisible = position;
  for (; firstVisible < context.contentEnd; firstVisible++) {
    const code = text.charCodeAt(firstVisible);
    if (!isSpace(code)) break;
    if (code === LF) lineStart = firstVisible + 1;
  }
  if (firstVisible >= context.contentEnd) return undefined;
  const contentStart =
    lineStart !== undefined && firstVisible - lineStart <= maxChars * MAX_KEPT_INDENT_RATIO
      ? lineStart
      : firstVisible;
  const prefix = splitFenceAt(context.fences, contentStart)?.reopen ?? '';
  return { contentStart, firstVisible, prefix };
}

function nextPiece(context: ChunkContext, start: PieceStart): Piece {
  const { text, maxChars, contentEnd } = context;
  const fitsWhole = pieceChars(context, start, contentEnd) <= maxChars;
  const end = fitsWhole ? contentEnd : chooseBreak(context, start);
  const closer = splitFenceAt(context.fences, end)?.closer ?? '';
  const piece = `${start.prefix}${text.slice(start.contentStart, end).trimEnd()}${closer}`;
  if (piece.length <= maxChars && end > start.firstVisible && !leavesFenceOpen(piece)) {
    return { text: piece, end };
  }
  // Rare: fences too long to reopen in every chunk, or a fence run or fence-like line longer than
  // the chunk, where any cut leaves a fence open. Sent as a literal block instead.
  const { contentStart, firstVisible } = start;
  return literalPiece(text, { contentStart, firstVisible, contentEnd, maxChars });
}

/**
 * Splits `text` into chunks of at most `maxChars` (JS string length) each, for sending as separate
 * DingTalk markdown messages in order.
 *
 * Boundaries are tried best first: paragraph, line, sentence end (ASCII `.!?;` before whitespace,
 * CJK `。！？；` anywhere), CJK comma or whitespace, then a hard cut on a grapheme boundary. Breaks
 * in the first {@link MIN_FILL_RATIO} of the window lose to any later break. Fenced code blocks are
 * kept whole when they fit one chunk; larger blocks are split at line boundaries and every piece is
 * closed and reopened (same fence and info string) so each chunk is balanced markdown. Breaks inside
 * `[text](url)` links and inline code spans are avoided, and a mid-line break never leaves block
 * syntax (`# `, `- `, `> `, a fence run) at the start of the next chunk. Blank lines and whitespace at
 * chunk edges are left out of `text` but covered by the offsets. Runs in time linear in `text.length`.
 *
 * No chunk leaves a fenced code block open. When no boundary can ensure that (fence runs too long to
 * reopen in every chunk, or a line that starts like a fence and runs past a whole chunk), the piece is
 * sent as a literal code block, fenced with the character its first line does not start with.
 *
 * @param maxChars - Chunk limit in chars: an integer `>=` {@link MIN_REPLY_MAX_CHARS}; configurations
 *   usually pass {@link DEFAULT_REPLY_MAX_CHARS}.
 * @returns Chunks in order, none with empty text; `[]` for empty or whitespace-only input.
 * @throws RangeError when `maxChars` is not an integer `>=` {@link MIN_REPLY_MAX_CHARS}.
 */
export function chunkReply(text: string, maxChars: number): ReplyChunk[] {
  if (!Number.isSafeInteger(maxChars) || maxChars < MIN_REPLY_MAX_CHARS) {
    throw new RangeError(`maxChars must be an integer >= ${MIN_REPLY_MAX_CHARS}, got ${maxChars}`);
  }
  const context = createContext(text, maxChars);
  const chunks: ReplyChunk[] = [];
  let position = 0;
  for (
    let start = findPieceStart(context, 0);
    start !== undefined;
    start = findPieceStart(context, position)
  ) {
    const piece = nextPiece(context, start);
    chunks.push({ text: piece.text, start: position, end: piece.end });
    position = piece.end;
  }
  const last = chunks.pop();
  if (last !== undefined) chunks.push({ ...last, end: text.length });
  return chunks;
}
