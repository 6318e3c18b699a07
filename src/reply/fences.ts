/**
 * Fenced code blocks (``` or ~~~) as CommonMark pairs them: where they are in a document, and whether
 * a piece of markdown leaves one open.
 */

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

/** The two characters a fence run is made of. */
export type FenceChar = '`' | '~';

const FENCE_OPENER = /( {0,3})(`{3,}|~{3,})([^\n]*)/y;
const FENCE_CLOSER = /( {0,3}(`{3,}|~{3,}))[ \t\r]*(?=\n|$)/y;
/** A line starting like a fence, whether or not it is one (say "```a``` b", whose info has a backtick). */
const FENCE_LIKE_LINE = / {0,3}(?:`{3}|~{3})/y;

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
 * closed by a line of the same character at least as long, followed by nothing but spaces or tabs.
 * Only `\n` ends a line (a `\r` before it counts as trailing whitespace). Linear in the input length.
 *
 * @returns The blocks in document order; the last one may be unclosed (`isClosed: false`).
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

/**
 * Whether `markdown`, rendered on its own, ends inside a fenced code block: some line opens a fence
 * that no later line closes (pairing as in {@link findFencedBlocks}). Linear in the input length.
 */
export function leavesFenceOpen(markdown: string): boolean {
  // Most chunks are prose: a substring search rules fences out far faster than the line scan.
  if (!markdown.includes('```') && !markdown.includes('~~~')) return false;
  return findFencedBlocks(markdown).at(-1)?.isClosed === false;
}

/**
 * The fence character when the text at `lineStart` starts like a fence: up to three spaces, then
 * three backticks or tildes. Such a line opens or closes a block when it is cut short even if it is
 * not a fence as a whole. `undefined` otherwise.
 */
export function fenceLikeCharAt(text: string, lineStart: number): FenceChar | undefined {
  FENCE_LIKE_LINE.lastIndex = lineStart;
  if (!FENCE_LIKE_LINE.test(text)) return undefined;
  return text.charAt(FENCE_LIKE_LINE.lastIndex - 1) === '`' ? '`' : '~';
}
