/**
 * Splits a long agent reply into DingTalk-sized markdown messages at the most natural boundary,
 * keeping fenced code blocks whole when possible and balanced when not.
 */

import { graphemeBoundaryAtOrBefore, surrogateSafeIndex } from './text-width.js';

/** Chunk size used when the configuration does not set one (chars, JS string length). */
export const DEFAULT_REPLY_MAX_CHARS = 1800;

/** Smallest `maxChars` {@link chunkReply} accepts; below it fence bookkeeping leaves no room for text. */
export const MIN_REPLY_MAX_CHARS = 50;

/** One message-sized piece of a reply. */
export interface ReplyChunk {
  /**
   * What to send: may add a fence closer at the end / a fence opener at the start when a code block
   * is split.
   */
  readonly text: string;
  /**
   * [start, end) offsets of the original text this chunk covers; chunks cover the input contiguously
   * with no gaps or overlaps.
   */
  readonly start: number;
  readonly end: number;
}

/** A fenced code block (``` or ~~~) located by {@link findFencedBlocks}; offsets index the scanned text. */
export interface FencedBlock {
  /** Start of the opening fence line, including its indentation. */
  readonly openStart: number;
  /** Start of the first line after the opening line (`text.length` when there is none). */
  readonly bodyStart: number;
  /** Start of the closing fence line; `text.length` when the block is never closed. */
  readonly closeStart: number;
  /** End of the closing fence run (trailing whitespace excluded); `text.length` when never closed. */
  readonly end: number;
  /** Unclosed blocks run to the end of the document, as in CommonMark. */
  readonly isClosed: boolean;
  /** Opening line without trailing whitespace, for example `  ```ts title="a.ts"`. */
  readonly openLine: string;
  /** Indentation of the opening line (0 to 3 spaces). */
  readonly indent: string;
  /** The fence run of the opening line, for example "```" or "~~~~". */
  readonly marker: string;
}

const FENCE_OPENER = /( {0,3})(`{3,}|~{3,})([^\n]*)/y;
const FENCE_CLOSER = /( {0,3}(`{3,}|~{3,}))[ \t\r]*(?=\n|$)/y;

function lineEndAt(text: string, lineStart: number): number {
  const newline = text.indexOf('\n', lineStart);
  return newline === -1 ? text.length : newline;
}

/** End of the closing fence run on the line at `lineStart`, or -1 when the line does not close `marker`. */
function closingFenceEnd(text: string, lineStart: number, marker: string): number {
  FENCE_CLOSER.lastIndex = lineStart;
  const [, fenceLine = '', run = ''] = FENCE_CLOSER.exec(text) ?? [];
  return run.startsWith(marker.charAt(0)) && run.length >= marker.length ? lineStart + fenceLine.length : -1;
}

/**
 * Finds the fenced code blocks of a markdown document: an opening line of at least three backticks
 * or tildes indented by at most three spaces (backtick info strings may not contain backticks),
 * closed by a line of the same character at least as long. Linear in the input length.
 */
export function findFencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let lineStart = 0;
  while (lineStart < markdown.length) {
    const lineEnd = lineEndAt(markdown, lineStart);
    FENCE_OPENER.lastIndex = lineStart;
    const [, indent = '', marker = '', info = ''] = FENCE_OPENER.exec(markdown) ?? [];
    if (marker === '' || (marker.startsWith('`') && info.includes('`'))) {
      lineStart = lineEnd + 1;
      continue;
    }
    const bodyStart = Math.min(lineEnd + 1, markdown.length);
    let closeStart = bodyStart;
    let end = -1;
    for (; closeStart < markdown.length; closeStart = lineEndAt(markdown, closeStart) + 1) {
      end = closingFenceEnd(markdown, closeStart, marker);
      if (end !== -1) break;
    }
    const isClosed = end !== -1;
    if (!isClosed) end = markdown.length;
    const openLine = markdown.slice(lineStart, lineEnd).trimEnd();
    blocks.push({ openStart: lineStart, bodyStart, closeStart, end, isClosed, openLine, indent, marker });
    lineStart = lineEndAt(markdown, end) + 1;
  }
  return blocks;
}

/** Break quality, best last. A chunk never ends at `NONE`. */
const NONE = 0;
const SOFT = 1;
const SENTENCE = 2;
const LINE = 3;
const PARAGRAPH = 4;

/** Breaks that would leave a chunk shorter than this share of the budget lose to any later break. */
const MIN_FILL_RATIO = 0.4;
/** Reopen line + closer may use at most this share of `maxChars`; beyond it a block is split as text. */
const MAX_FENCE_OVERHEAD_RATIO = 0.5;
/** Leading indentation kept at a chunk start (markdown meaning) unless it eats this share of `maxChars`. */
const MAX_KEPT_INDENT_RATIO = 0.25;
/** Whitespace looked at after a candidate break; longer runs are treated as a plain space. */
const MAX_WHITESPACE_LOOKAHEAD_CHARS = 256;
/** Grapheme boundaries tried before a hard cut gives up on avoiding a block-syntax chunk start. */
const MAX_HARD_CUT_RETREATS = 16;

const LF = 0x0a;
const ASCII_SENTENCE_END = new Set(['.', '!', '?', ';']);
const CJK_SENTENCE_END = new Set(['。', '！', '？', '；']);
const CJK_CLAUSE_END = new Set(['，', '、']);
const CLOSING_MARKS = new Set(['"', "'", ')', ']', '”', '’', '」', '』', '）', '》', '】']);
// Links and code spans are matched with a simplified single-line grammar with bounded parts: it only
// steers breaks away from them, and the bounds keep the scan linear on adversarial input.
const LINK_PATTERN = /!?\[[^[\]\n]{0,500}\]\([^()\s]{0,2000}(?:[ \t]+"[^"\n]{0,500}")?\)/g;
const CODE_SPAN_PATTERN = /`[^`\n]{1,500}`/g;
/** A line starting like a fence that is not one (say "```a``` b") would open a block if cut short. */
const FENCE_LIKE_LINE = / {0,3}(?:`{3}|~{3})/y;
/** Text that means a fence, heading, blockquote or list item when it starts a chunk. */
const BLOCK_SYNTAX = /`{3}|~{3}|#{1,6}(?:[ \t]|$)|>|[-+*][ \t]|\d{1,9}[.)][ \t]/y;

/** Same set as the JS `\s` class, so it agrees with `String.prototype.trimEnd`. */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

interface Span {
  readonly start: number;
  readonly end: number;
}

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

function trimmedEnd(text: string, end: number): number {
  let cursor = end;
  while (cursor > 0 && isSpace(text.charCodeAt(cursor - 1))) cursor--;
  return cursor;
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

function findInlineSpans(text: string): Span[] {
  const spans = [...text.matchAll(LINK_PATTERN), ...text.matchAll(CODE_SPAN_PATTERN)]
    .map((match) => ({ start: match.index, end: match.index + match[0].length }))
    .sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last !== undefined && span.start < last.end)
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, span.end) };
    else merged.push(span);
  }
  return merged;
}

function createContext(text: string, maxChars: number): ChunkContext {
  const contentEnd = trimmedEnd(text, text.length);
  const fences = findFencedBlocks(text).map((block) => layoutFence(text, maxChars, block, contentEnd));
  return { text, maxChars, fences, inlineSpans: findInlineSpans(text), contentEnd };
}

/** Index of the first item whose end is after `position`; items are sorted and do not overlap. */
function firstEndingAfter<T>(items: readonly T[], position: number, endOf: (item: T) => number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const item = items[middle];
    if (item !== undefined && endOf(item) <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

const fenceUntil = (fence: FenceLayout): number => fence.until;
const spanEnd = (span: Span): number => span.end;

/** The splittable block that a chunk ending (or starting) at `position` would cut through. */
function splitFenceAt(fences: readonly FenceLayout[], position: number): FenceLayout | undefined {
  const fence = fences[firstEndingAfter(fences, position, fenceUntil)];
  return fence?.isSplittable === true && fence.block.openStart < position ? fence : undefined;
}

function isFenceLikeLine(text: string, lineStart: number): boolean {
  FENCE_LIKE_LINE.lastIndex = lineStart;
  return FENCE_LIKE_LINE.test(text);
}

function startsBlockSyntax(text: string, position: number): boolean {
  BLOCK_SYNTAX.lastIndex = position;
  return BLOCK_SYNTAX.test(text);
}

function endsSentence(text: string, index: number): boolean {
  const char = text[index] ?? '';
  const previous = text[index - 1] ?? '';
  const isEnd = (c: string): boolean => ASCII_SENTENCE_END.has(c) || CJK_SENTENCE_END.has(c);
  return isEnd(char) || (CLOSING_MARKS.has(char) && isEnd(previous));
}

/**
 * Quality of ending a chunk right after `text[index]`. Mid-line breaks are refused when the next chunk
 * would start with block syntax: a fence-like run there would open a code block, `# ` a heading.
 */
function breakLevel(text: string, index: number): number {
  if (isSpace(text.charCodeAt(index))) return NONE;
  const end = index + 1;
  if (end >= text.length) return PARAGRAPH;
  if (isSpace(text.charCodeAt(end))) {
    let newlines = 0;
    let cursor = end;
    const lookaheadEnd = Math.min(text.length, end + MAX_WHITESPACE_LOOKAHEAD_CHARS);
    for (; cursor < lookaheadEnd && newlines < 2; cursor++) {
      const code = text.charCodeAt(cursor);
      if (!isSpace(code)) break;
      if (code === LF) newlines++;
    }
    if (newlines >= 2 || cursor >= text.length) return PARAGRAPH;
    if (newlines === 1) return LINE;
    if (startsBlockSyntax(text, cursor)) return NONE;
    return endsSentence(text, index) ? SENTENCE : SOFT;
  }
  const char = text[index] ?? '';
  // CJK needs no space after punctuation, so these break mid-run; a closing quote stays with its sentence.
  if (startsBlockSyntax(text, end) || CLOSING_MARKS.has(text[end] ?? '')) return NONE;
  if (
    CJK_SENTENCE_END.has(char) ||
    (CLOSING_MARKS.has(char) && CJK_SENTENCE_END.has(text[index - 1] ?? ''))
  ) {
    return SENTENCE;
  }
  return CJK_CLAUSE_END.has(char) ? SOFT : NONE;
}

/** Upper bound of the chunk text length when the chunk ends at `end` (trimming only shortens it). */
function pieceChars(context: ChunkContext, start: PieceStart, end: number): number {
  const closerChars = splitFenceAt(context.fences, end)?.closer.length ?? 0;
  return start.prefix.length + (end - start.contentStart) + closerChars;
}

interface Candidate {
  level: number;
  end: number;
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
  let isInFenceLikeLine = isFenceLikeLine(text, start.contentStart);
  for (let index = start.firstVisible; index < limit; index++) {
    if (text.charCodeAt(index) === LF) isInFenceLikeLine = isFenceLikeLine(text, index + 1);
    let level = breakLevel(text, index);
    if (level === NONE || (level < LINE && isInFenceLikeLine)) continue;
    const end = index + 1;
    while ((fences[fenceIndex]?.until ?? Infinity) <= end) fenceIndex++;
    while ((inlineSpans[spanIndex]?.end ?? Infinity) <= end) spanIndex++;
    const fence = fences[fenceIndex];
    const isFenceEdge = fence?.breakBefore === end || fences[fenceIndex - 1]?.block.end === end;
    if (level === LINE && isFenceEdge) level = PARAGRAPH;
    let slot = end >= farFrom ? far : near;
    if (fence?.isSplittable === true && fence.block.openStart < end) {
      // Inside a code block only line breaks are acceptable, and never on the opening line itself.
      if (end < fence.block.bodyStart || level < LINE || pieceChars(context, start, end) > maxChars) continue;
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
  }
  const chosen = [far, near, discouraged].find((candidate) => candidate.level !== NONE);
  return chosen?.end ?? hardCut(context, start, limit, farFrom);
}

function nextVisible(text: string, position: number): number {
  let cursor = position;
  while (cursor < text.length && cursor - position < MAX_WHITESPACE_LOOKAHEAD_CHARS) {
    if (!isSpace(text.charCodeAt(cursor))) break;
    cursor++;
  }
  return cursor;
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

function nextPiece(context: ChunkContext, start: PieceStart): { text: string; end: number } {
  const { text, maxChars, contentEnd } = context;
  const fitsWhole = pieceChars(context, start, contentEnd) <= maxChars;
  const end = fitsWhole ? contentEnd : chooseBreak(context, start);
  const closer = splitFenceAt(context.fences, end)?.closer ?? '';
  const piece = `${start.prefix}${text.slice(start.contentStart, end).trimEnd()}${closer}`;
  if (piece.length <= maxChars && end > start.firstVisible) return { text: piece, end };
  // Unreachable by construction; the length limit is a hard API contract, so degrade rather than break it.
  const fallbackEnd = Math.max(
    start.firstVisible + 1,
    surrogateSafeIndex(text, start.contentStart + maxChars),
  );
  return { text: text.slice(start.contentStart, fallbackEnd).trimEnd(), end: fallbackEnd };
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
