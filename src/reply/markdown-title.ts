/**
 * Plain-text titles for DingTalk markdown messages, which show the title in notifications and in the
 * conversation list, where markdown syntax would appear literally.
 */

import { graphemeBoundaryAtOrBefore } from './text-width.js';

/** Longest title {@link titleFromMarkdown} returns, in chars (JS string length), ellipsis included. */
export const MAX_TITLE_CHARS = 60;

const ELLIPSIS = '…';
/**
 * Characters of a line looked at for a title. Markup rarely takes more than a few times the visible
 * text, and the cap keeps the regex passes cheap on a megabyte-long first line.
 */
const MAX_TITLE_SOURCE_CHARS = 2000;
/** Passes of the block-prefix stripper; covers nesting such as `> - [ ] ## text`. */
const MAX_BLOCK_PREFIX_PASSES = 8;

const FENCE_LINE = /^ {0,3}(?:`{3,}|~{3,})/;
const THEMATIC_OR_UNDERLINE = /^(?:(?:[-*_][ \t]*){3,}|=+|-+)$/;
const TABLE_DELIMITER_ROW = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?$/;
const ATX_HEADING = /^#{1,6}(?:[ \t]+|$)/;
const BLOCK_PREFIXES = [
  /^>[ \t]?/, // blockquote
  ATX_HEADING,
  /^(?:[-*+]|\d{1,9}[.)])[ \t]+/, // list item
  /^\[[ xX]\][ \t]+/, // task list checkbox
];
const CLOSING_HEADING_HASHES = /(?:^|[ \t]+)#+[ \t]*$/;

/** Text without any of these has no inline markup to strip. */
const MARKUP_CHARS = /[\\`*_~[\]<&]/;
const ESCAPED_PUNCTUATION = /\\([!-/:-@[-`{-~])/g;

const NAMED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', ' '],
]);

interface Segment {
  readonly text: string;
  readonly isCode: boolean;
}

/** Splits on CommonMark code spans: a backtick run closed by the next run of the same length. */
function splitCodeSpans(text: string): Segment[] {
  const runs = Array.from(text.matchAll(/(?<!\\)`+/g), (match) => ({
    start: match.index,
    length: match[0].length,
  }));
  // Per run length, the positions (in `runs`) of runs of that length, scanned with a moving cursor so
  // that pairing stays linear even for lines full of backticks.
  const indexesByLength = new Map<number, number[]>();
  runs.forEach((run, index) => {
    const indexes = indexesByLength.get(run.length);
    if (indexes === undefined) indexesByLength.set(run.length, [index]);
    else indexes.push(index);
  });
  const cursors = new Map<number, number>();
  const segments: Segment[] = [];
  let plainStart = 0;
  runs.forEach((opener, index) => {
    const indexes = indexesByLength.get(opener.length) ?? [];
    let cursor = cursors.get(opener.length) ?? 0;
    while ((indexes[cursor] ?? Infinity) <= index) cursor++;
    cursors.set(opener.length, cursor);
    const closer = runs[indexes[cursor] ?? -1];
    if (opener.start < plainStart || closer === undefined) return;
    segments.push({ text: text.slice(plainStart, opener.start), isCode: false });
    const content = text.slice(opener.start + opener.length, closer.start);
    const isPadded = content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '';
    segments.push({ text: isPadded ? content.slice(1, -1) : content, isCode: true });
    plainStart = closer.start + closer.length;
  });
  segments.push({ text: text.slice(plainStart), isCode: false });
  return segments;
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(?:#(\d{1,7})|#[xX]([\da-fA-F]{1,6})|([a-z]+));/g,
    (entity: string, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (name !== undefined) return NAMED_ENTITIES.get(name) ?? entity;
      const codePoint = decimal !== undefined ? Number(decimal) : parseInt(hex ?? '', 16);
      const isScalar = codePoint > 0 && codePoint <= 0x10ffff && (codePoint < 0xd800 || codePoint > 0xdfff);
      return isScalar ? String.fromCodePoint(codePoint) : entity;
    },
  );
}

/** Removes inline markers; a marker preceded by a backslash is escaped and stays. */
function stripMarkers(text: string): string {
  let result = text
    .replace(/(?<!\\)!\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])/g, '$1')
    .replace(/(?<!\\)\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])/g, '$1')
    .replace(/(?<!\\)<((?:https?|ftp|mailto):[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>/gi, '$1')
    .replace(/(?<!\\)<!--[\s\S]*?-->/g, '')
    .replace(/(?<!\\)<br\s*\/?>/gi, ' ')
    .replace(/(?<!\\)<\/?[A-Za-z][\w-]*(?:\s[^<>]*)?\/?>/g, '');
  // Nested emphasis (`***both***`, `**a *b* c**`) needs more than one pass.
  for (let pass = 0; pass < 3; pass++) {
    result = result
      .replace(/(?<!\\)(\*\*|__)(?=\S)([\s\S]*?[^\s\\])\1/g, '$2')
      .replace(/(?<!\\)~~(?=\S)([\s\S]*?[^\s\\])~~/g, '$1')
      .replace(/(?<!\\)\*(?=[^\s*])([^*]*?[^\s*\\])\*/g, '$1')
      .replace(/(^|[^\p{L}\p{N}_\\])_(?=[^\s_])([^_]*?[^\s_\\])_(?![\p{L}\p{N}_])/gu, '$1$2');
  }
  return result;
}

/**
 * Removes inline markdown from `text`, keeping what a reader sees: emphasis, strikethrough and code
 * span markers are dropped, links become their text, images their alt text, autolinks their
 * address, HTML tags and comments vanish (`<br>` becomes a space), backslash escapes and common
 * character references are resolved. Code span content stays literal. Block syntax is left alone.
 */
export function stripInlineMarkdown(text: string): string {
  if (!MARKUP_CHARS.test(text)) return text;
  return splitCodeSpans(text)
    .map((segment) =>
      segment.isCode
        ? segment.text
        : decodeEntities(stripMarkers(segment.text).replace(ESCAPED_PUNCTUATION, '$1')),
    )
    .join('');
}

function stripBlockPrefixes(line: string): string {
  let result = line.trim();
  let isHeading = false;
  for (let pass = 0; pass < MAX_BLOCK_PREFIX_PASSES; pass++) {
    isHeading ||= ATX_HEADING.test(result);
    const stripped = BLOCK_PREFIXES.reduce((text, prefix) => text.replace(prefix, ''), result);
    if (stripped === result) break;
    result = stripped.trimStart();
  }
  return isHeading ? result.replace(CLOSING_HEADING_HASHES, '') : result;
}

function lineTitle(line: string): string {
  if (FENCE_LINE.test(line) || THEMATIC_OR_UNDERLINE.test(line.trim())) return '';
  const content = stripBlockPrefixes(line);
  if (FENCE_LINE.test(content) || THEMATIC_OR_UNDERLINE.test(content) || TABLE_DELIMITER_ROW.test(content)) {
    return '';
  }
  // A table row reads as its cells; the pipes are noise in a notification.
  const cells = content.startsWith('|') ? content.replace(/(^|[^\\])\|/g, '$1 ') : content;
  return stripInlineMarkdown(cells).replace(/\s+/g, ' ').trim();
}

function truncateTitle(title: string): string {
  if (title.length <= MAX_TITLE_CHARS) return title;
  const cut = graphemeBoundaryAtOrBefore(title, MAX_TITLE_CHARS - ELLIPSIS.length);
  return `${title.slice(0, cut).trimEnd()}${ELLIPSIS}`;
}

/**
 * A plain-text title for a markdown message: the first line that still has text once fence lines,
 * thematic breaks and table delimiter rows are skipped and heading, blockquote, list and task
 * markers plus inline markdown ({@link stripInlineMarkdown}) are removed, with whitespace collapsed.
 * Longer results are cut to {@link MAX_TITLE_CHARS} on a grapheme boundary and end in `…`.
 *
 * @param fallback - Used (whitespace-collapsed and cut the same way) when no line has any text.
 */
export function titleFromMarkdown(markdown: string, fallback: string): string {
  for (const line of markdown.split('\n')) {
    const title = lineTitle(line.slice(0, MAX_TITLE_SOURCE_CHARS));
    if (title !== '') return truncateTitle(title);
  }
  return truncateTitle(fallback.replace(/\s+/g, ' ').trim());
}
