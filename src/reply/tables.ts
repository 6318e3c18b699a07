/**
 * GFM tables rewritten as aligned plain text in a code block (`tableMode: 'code'`), because the
 * DingTalk mobile client does not render markdown tables and shows their pipes literally.
 */

import { findFencedBlocks } from './fences.js';
import { stripInlineMarkdown } from './markdown-title.js';
import { displayWidth } from './text-width.js';

type Alignment = 'left' | 'center' | 'right';

interface Line {
  readonly start: number;
  /** End of the line content, before `\r\n` or `\n`. */
  readonly end: number;
  readonly text: string;
  readonly isInFence: boolean;
}

const COLUMN_SEPARATOR = ' | ';
const HEADER_RULE_JUNCTION = '-+-';
const MIN_CODE_FENCE_CHARS = 3;

const MAX_TABLE_INDENT = /^ {0,3}\S/;
const UNESCAPED_PIPE = /(?:^|[^\\])\|/;
const DELIMITER_CELL = /^:?-+:?$/;

function splitLines(markdown: string): Line[] {
  const fences = findFencedBlocks(markdown);
  const lines: Line[] = [];
  let fenceIndex = 0;
  for (let start = 0; start <= markdown.length;) {
    const newline = markdown.indexOf('\n', start);
    const lineEnd = newline === -1 ? markdown.length : newline;
    const end = markdown.charAt(lineEnd - 1) === '\r' && lineEnd > start ? lineEnd - 1 : lineEnd;
    while ((fences[fenceIndex]?.end ?? Infinity) < start) fenceIndex++;
    const isInFence = (fences[fenceIndex]?.openStart ?? Infinity) <= start;
    lines.push({ start, end, text: markdown.slice(start, end), isInFence });
    start = lineEnd + 1;
  }
  return lines;
}

/** Cells of a table row: outer pipes are optional, `\|` is content. Cells are trimmed. */
function splitCells(row: string): string[] {
  let content = row.trim();
  if (content.startsWith('|')) content = content.slice(1);
  if (content.endsWith('|') && !content.endsWith('\\|')) content = content.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let index = 0; index < content.length; index++) {
    const char = content.charAt(index);
    if (char === '\\' && content.charAt(index + 1) === '|') {
      cell += '\\|';
      index++;
    } else if (char === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function isRow(line: Line | undefined): line is Line {
  return line !== undefined && !line.isInFence && line.text.trim() !== '' && UNESCAPED_PIPE.test(line.text);
}

/** Column alignments when `line` is a delimiter row matching `columnCount` header cells. */
function parseDelimiterRow(line: Line | undefined, columnCount: number): Alignment[] | undefined {
  if (!isRow(line) || !MAX_TABLE_INDENT.test(line.text)) return undefined;
  const cells = splitCells(line.text);
  if (cells.length !== columnCount || !cells.every((cell) => DELIMITER_CELL.test(cell))) return undefined;
  return cells.map((cell) => {
    if (cell.endsWith(':')) return cell.startsWith(':') ? 'center' : 'right';
    return 'left';
  });
}

/** Inline markdown is meaningless inside a code block, so cells keep only what a reader would see. */
function plainCell(cell: string): string {
  // GFM resolves `\|` before inline parsing, so it is a plain pipe even inside a code span.
  return stripInlineMarkdown(cell.replaceAll('\\|', '|')).replace(/\s+/g, ' ').trim();
}

function pad(cell: string, cellColumns: number, widthColumns: number, alignment: Alignment): string {
  const gap = Math.max(0, widthColumns - cellColumns);
  if (alignment === 'right') return ' '.repeat(gap) + cell;
  if (alignment === 'left') return cell + ' '.repeat(gap);
  const before = Math.floor(gap / 2);
  return ' '.repeat(before) + cell + ' '.repeat(gap - before);
}

function renderTable(rows: readonly (readonly string[])[], alignments: readonly Alignment[]): string[] {
  const columnCount = rows.reduce((count, row) => Math.max(count, row.length), 0);
  const grid = rows.map((row) =>
    Array.from({ length: columnCount }, (_, column) => {
      const text = plainCell(row[column] ?? '');
      return { text, columns: displayWidth(text) };
    }),
  );
  const widths = Array.from({ length: columnCount }, (_, column) =>
    grid.reduce((width, row) => Math.max(width, row[column]?.columns ?? 0), 1),
  );
  const format = (row: readonly { text: string; columns: number }[]): string =>
    row
      .map((cell, column) => pad(cell.text, cell.columns, widths[column] ?? 0, alignments[column] ?? 'left'))
      .join(COLUMN_SEPARATOR)
      .trimEnd();
  const [header = [], ...body] = grid;
  const rule = widths.map((width) => '-'.repeat(width)).join(HEADER_RULE_JUNCTION);
  return [format(header), rule, ...body.map(format)];
}

function codeBlock(tableLines: readonly string[], indent: string, lineBreak: string): string {
  // A cell may hold backticks (from a code span); the fence must be longer than any run of them.
  const longestRun = tableLines.reduce(
    (longest, line) => Math.max(longest, ...Array.from(line.matchAll(/`+/g), (run) => run[0].length)),
    0,
  );
  const fence = '`'.repeat(Math.max(MIN_CODE_FENCE_CHARS, longestRun + 1));
  return [fence, ...tableLines, fence].map((line) => (line === '' ? line : indent + line)).join(lineBreak);
}

/**
 * Rewrites every GFM table outside fenced code blocks as an aligned plain-text table inside a ```
 * code block: columns padded to their display width (CJK and emoji count 2 columns, see
 * {@link displayWidth}) and aligned as the delimiter row says, cells separated by ` | `, a rule of
 * `-` under the header, trailing spaces trimmed, inline markdown in cells reduced to plain text.
 *
 * A table is a row with an unescaped pipe, followed by a delimiter row (`|---|:--:|--:|`, outer pipes
 * optional) with the same number of cells, then rows until a blank line, a line without a pipe or a
 * code fence. Rows with fewer cells are padded; extra cells are kept as extra columns. Everything
 * that is not part of a table is returned byte for byte, including the line breaks around tables.
 */
export function convertTablesToCode(markdown: string): string {
  const lines = splitLines(markdown);
  const parts: string[] = [];
  let copiedUntil = 0;
  for (let index = 0; index < lines.length; index++) {
    const header = lines[index];
    if (!isRow(header) || !MAX_TABLE_INDENT.test(header.text)) continue;
    const headerCells = splitCells(header.text);
    const alignments = parseDelimiterRow(lines[index + 1], headerCells.length);
    if (alignments === undefined) continue;
    let last = index + 1;
    while (isRow(lines[last + 1])) last++;
    const body = lines.slice(index + 2, last + 1).map((line) => splitCells(line.text));
    const indent = /^ */.exec(header.text)?.[0] ?? '';
    const lineBreak = markdown.startsWith('\r\n', header.end) ? '\r\n' : '\n';
    parts.push(markdown.slice(copiedUntil, header.start));
    parts.push(codeBlock(renderTable([headerCells, ...body], alignments), indent, lineBreak));
    copiedUntil = lines[last]?.end ?? markdown.length;
    index = last;
  }
  parts.push(markdown.slice(copiedUntil));
  return parts.join('');
}
