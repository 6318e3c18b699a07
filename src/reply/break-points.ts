/**
 * Where a reply chunk may end and how natural each boundary is: paragraph, line, sentence, soft
 * (space or CJK comma), and the links and code spans a break should not cut through. Used by the
 * chunker only.
 */

import { fenceLikeCharAt } from './fences.js';

/** Break quality, best last. A chunk never ends at `none`. @internal */
export const BREAK_LEVEL = { none: 0, soft: 1, sentence: 2, line: 3, paragraph: 4 } as const;

/** One of the {@link BREAK_LEVEL} values. @internal */
export type BreakLevel = (typeof BREAK_LEVEL)[keyof typeof BREAK_LEVEL];

/** A [start, end) range of the text. @internal */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** Breaks that would leave a chunk shorter than this share of the budget lose to any later break. @internal */
export const MIN_FILL_RATIO = 0.4;

/** Whitespace looked at after a candidate break; longer runs are treated as a plain space. @internal */
export const MAX_WHITESPACE_LOOKAHEAD_CHARS = 256;

const LF = 0x0a;
const ASCII_SENTENCE_END = new Set(['.', '!', '?', ';']);
const CJK_SENTENCE_END = new Set(['。', '！', '？', '；']);
const CJK_CLAUSE_END = new Set(['，', '、']);
const CLOSING_MARKS = new Set(['"', "'", ')', ']', '”', '’', '」', '』', '）', '》', '】']);
// Links and code spans are matched with a simplified single-line grammar with bounded parts: it only
// steers breaks away from them, and the bounds keep the scan linear on adversarial input.
const LINK_PATTERN = /!?\[[^[\]\n]{0,500}\]\([^()\s]{0,2000}(?:[ \t]+"[^"\n]{0,500}")?\)/g;
const CODE_SPAN_PATTERN = /`[^`\n]{1,500}`/g;
/** Text that means a fence, heading, blockquote or list item when it starts a chunk. */
const BLOCK_SYNTAX = /`{3}|~{3}|#{1,6}(?:[ \t]|$)|>|[-+*][ \t]|\d{1,9}[.)][ \t]/y;

/** Same set as the JS `\s` class, so it agrees with `String.prototype.trimEnd`. @internal */
export function isSpace(code: number): boolean {
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

/** `end` moved back over whitespace: the end of the last visible character before it. @internal */
export function trimmedEnd(text: string, end: number): number {
  let cursor = end;
  while (cursor > 0 && isSpace(text.charCodeAt(cursor - 1))) cursor--;
  return cursor;
}

/**
 * First visible character at or after `position`, looking at most
 * {@link MAX_WHITESPACE_LOOKAHEAD_CHARS} ahead (the position reached when the run is longer). @internal
 */
export function nextVisible(text: string, position: number): number {
  let cursor = position;
  while (cursor < text.length && cursor - position < MAX_WHITESPACE_LOOKAHEAD_CHARS) {
    if (!isSpace(text.charCodeAt(cursor))) break;
    cursor++;
  }
  return cursor;
}

/** Whether `text` at `position` reads as block syntax (fence run, heading, quote, list item). @internal */
export function startsBlockSyntax(text: string, position: number): boolean {
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
function breakLevel(text: string, index: number): BreakLevel {
  if (isSpace(text.charCodeAt(index))) return BREAK_LEVEL.none;
  const end = index + 1;
  if (end >= text.length) return BREAK_LEVEL.paragraph;
  if (isSpace(text.charCodeAt(end))) {
    let newlines = 0;
    let cursor = end;
    const lookaheadEnd = Math.min(text.length, end + MAX_WHITESPACE_LOOKAHEAD_CHARS);
    for (; cursor < lookaheadEnd && newlines < 2; cursor++) {
      const code = text.charCodeAt(cursor);
      if (!isSpace(code)) break;
      if (code === LF) newlines++;
    }
    if (newlines >= 2 || cursor >= text.length) return BREAK_LEVEL.paragraph;
    if (newlines === 1) return BREAK_LEVEL.line;
    if (startsBlockSyntax(text, cursor)) return BREAK_LEVEL.none;
    return endsSentence(text, index) ? BREAK_LEVEL.sentence : BREAK_LEVEL.soft;
  }
  const char = text[index] ?? '';
  // CJK needs no space after punctuation, so these break mid-run; a closing quote stays with its sentence.
  if (startsBlockSyntax(text, end) || CLOSING_MARKS.has(text[end] ?? '')) return BREAK_LEVEL.none;
  if (
    CJK_SENTENCE_END.has(char) ||
    (CLOSING_MARKS.has(char) && CJK_SENTENCE_END.has(text[index - 1] ?? ''))
  ) {
    return BREAK_LEVEL.sentence;
  }
  return CJK_CLAUSE_END.has(char) ? BREAK_LEVEL.soft : BREAK_LEVEL.none;
}

/** Links and inline code spans of `text`, sorted and merged so that none overlap. @internal */
export function findInlineSpans(text: string): Span[] {
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

/** Where {@link forEachBreak} looks for breaks. @internal */
export interface BreakWindow {
  /** Start of the chunk's first line as the chunk shows it (the chunk start when that is mid-line). */
  readonly lineStart: number;
  /** First index whose following position may be a break. */
  readonly from: number;
  /** Breaks end before or at this offset. */
  readonly limit: number;
}

/**
 * Calls `visit(end, level)` for every position in `(window.from, window.limit]` where a chunk may end,
 * in order. Mid-line breaks on a line that starts like a fence are left out: cut there, the rest of
 * the line would be an info string and the chunk would open a code block. @internal
 */
export function forEachBreak(
  text: string,
  window: BreakWindow,
  visit: (end: number, level: BreakLevel) => void,
): void {
  let isInFenceLikeLine = fenceLikeCharAt(text, window.lineStart) !== undefined;
  for (let index = window.from; index < window.limit; index++) {
    if (text.charCodeAt(index) === LF) isInFenceLikeLine = fenceLikeCharAt(text, index + 1) !== undefined;
    const level = breakLevel(text, index);
    if (level === BREAK_LEVEL.none || (level < BREAK_LEVEL.line && isInFenceLikeLine)) continue;
    visit(index + 1, level);
  }
}

/**
 * Index of the first item whose end is after `position` (`items.length` when none is); `items` are
 * sorted and do not overlap. Binary search. @internal
 */
export function firstEndingAfter<T>(
  items: readonly T[],
  position: number,
  endOf: (item: T) => number,
): number {
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
