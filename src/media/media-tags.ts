/**
 * The agent's attachment syntax: `[DING:IMAGE|FILE|VIDEO|AUDIO path="…" name="…"]` tags anywhere in a
 * line, and standalone `MEDIA:<path-or-url>` lines (OpenClaw's own directive, openclaw-api.md §1.6).
 * Both are cut out of the reply text and returned as attachments, in order of appearance.
 *
 * Text contract (identical for {@link extractMediaTags} and {@link MediaTagFilter}):
 * - Inside fenced code blocks (pairing as in `findFencedBlocks`) and inline code spans (closed on
 *   the same line within {@link MAX_MEDIA_TAG_CHARS}) nothing is an attachment.
 * - A line left with nothing but whitespace after removals disappears with its line break. Blank
 *   lines between two surviving lines collapse to one when a removed line stood among them, and
 *   disappear at the start or end of the document; blank runs no removal touched stay as they are.
 * - Inside a line, the whitespace around removed tags collapses to the first non-empty run (at the
 *   start of a line: the indentation before the first tag; at the end of a line: nothing).
 * - A complete but unusable `[DING:…]` tag (no path, unknown kind, broken attributes) is removed and
 *   reported in `problems`. A `[DING:` that the line ends before it closes (a truncated stream, a
 *   missing `]` or quote) is removed up to the end of the line and reported as `unterminated`: a
 *   half-written tag never leaks into the chat. One that runs past {@link MAX_MEDIA_TAG_CHARS} is text.
 * - A `MEDIA:` line whose value is not an absolute path, `./` path or URL stays text (prose).
 * - Indented (4-space) code blocks are not recognised as code.
 */

import { fenceLikeCharAt, findFencedBlocks } from '../reply/fences.js';
import {
  attachmentFromTag,
  parseMediaLine,
  type MediaAttachment,
  type MediaTagProblem,
} from './media-attachment.js';
import {
  codeSpanEnd,
  isMediaTagOpenerPrefix,
  MAX_MEDIA_TAG_CHARS,
  scanMediaTag,
} from './media-tag-syntax.js';
import { MediaTextLayout } from './media-text-layout.js';

export { MAX_MEDIA_TAG_CHARS } from './media-tag-syntax.js';
export type {
  MediaAttachment,
  MediaAttachmentKind,
  MediaTagProblem,
  MediaTagProblemReason,
} from './media-attachment.js';

/** Result of {@link extractMediaTags}. */
export interface ExtractedMedia {
  readonly text: string;
  readonly attachments: readonly MediaAttachment[];
  readonly problems: readonly MediaTagProblem[];
}

const MEDIA_PREFIX = 'MEDIA:';
const LEADING_BLANKS = /[ \t]*/y;
const SPACE_RUN = /[^\S\n]+/y;
/** Visible text up to whitespace, a backtick, or a `[` that may open a tag. */
const PLAIN_RUN = /(?:[^\s`[]|\[(?=[^Dd]))+/y;
const BLANKS_ONLY = /^[ \t\r]*$/;
const TAG_OPENER_CHARS = '[DING:'.length;
/** A line that is still only the start of a fence run (`  ``` ` needs a third char to tell). */
const FENCE_RUN_START = /^ {0,3}(?:`{1,2}|~{1,2})$/;

/** How the current line is being read. */
type LineMode = 'start' | 'inline' | 'media' | 'fence-candidate' | 'verbatim';

/**
 * Removes attachments from a complete reply. Equivalent to one {@link MediaTagFilter.push} followed
 * by {@link MediaTagFilter.end}; see the module comment for the text contract. Never throws.
 */
export function extractMediaTags(text: string): ExtractedMedia {
  const filter = new MediaTagFilter();
  const cleaned = filter.push(text) + filter.end();
  return { text: cleaned, attachments: filter.attachments, problems: filter.problems };
}

/**
 * Streaming form of {@link extractMediaTags} for progressive sending. For any split of a document
 * into chunks, the concatenated `push()` results plus `end()` equal `extractMediaTags(document).text`,
 * and `attachments`/`problems` end up identical.
 *
 * Held back: a `[DING:` tag until it closes (at most {@link MAX_MEDIA_TAG_CHARS}); a line that may be
 * a `MEDIA:` line or a fence opener until it ends (same bound); text after an inline-code opening
 * run until its closer or the line end (same bound); and whitespace until the next visible char,
 * because whether it survives depends on what follows (it is invisible while held).
 */
export class MediaTagFilter {
  /** Attachments found so far, in order of appearance. */
  readonly attachments: MediaAttachment[] = [];
  /** Tags removed without an attachment so far. */
  readonly problems: MediaTagProblem[] = [];

  readonly #layout = new MediaTextLayout();
  #isEnded = false;
  // Only the unconsumed rest of the current line is kept, so long lines stay linear to stream.
  #rest = '';
  #mode: LineMode = 'start';
  /** Leading blanks of a line whose mode is not decided yet. */
  #lead = '';
  #hasVisible = false;
  #hasRemoval = false;
  /** Whitespace since the last visible char, split at each removal (`['']` when none). */
  #gapRuns: string[] = [''];
  /** Fence lines: the first MAX_MEDIA_TAG_CHARS chars, and whether all after them is blank. */
  #verbatimHead = '';
  #isVerbatimTailBlank = true;
  #openingFenceMarker: string | undefined;
  /** Marker of the fenced block we are in, once past its opening line. */
  #fenceMarker: string | undefined;

  /**
   * Feeds the next piece of the reply.
   *
   * @returns Text that is now final, possibly empty.
   * @throws Error when called after {@link end}.
   */
  push(chunk: string): string {
    if (this.#isEnded) throw new Error('MediaTagFilter.push() called after end()');
    let from = 0;
    for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', from)) {
      this.#rest += chunk.slice(from, newline);
      this.#process(true);
      this.#startLine();
      from = newline + 1;
    }
    this.#rest += chunk.slice(from);
    this.#process(false);
    return this.#layout.take();
  }

  /** Ends the reply and returns whatever was held back. Later calls return `''`. */
  end(): string {
    if (this.#isEnded) return '';
    this.#isEnded = true;
    this.#process(true);
    this.#layout.finish();
    return this.#layout.take();
  }

  #startLine(): void {
    this.#rest = '';
    this.#mode = 'start';
    this.#lead = '';
    this.#hasVisible = false;
    this.#hasRemoval = false;
    this.#gapRuns = [''];
    this.#verbatimHead = '';
    this.#isVerbatimTailBlank = true;
    this.#openingFenceMarker = undefined;
  }

  /** Consumes as much of the current line as can be decided; with `isComplete`, all of it. */
  #process(isComplete: boolean): void {
    if (this.#mode === 'start') {
      const mode = this.#classifyLine(isComplete);
      if (mode === undefined) return;
      this.#mode = mode;
      if (mode === 'verbatim') this.#layout.beginContentLine();
    }
    if (this.#mode === 'media') this.#processMediaLine(isComplete);
    if (this.#mode === 'fence-candidate') this.#processFenceCandidate(isComplete);
    if (this.#mode === 'verbatim') this.#processVerbatim(isComplete);
    if (this.#mode === 'inline') this.#processInline(isComplete);
  }

  #classifyLine(isComplete: boolean): LineMode | undefined {
    if (this.#fenceMarker !== undefined) return 'verbatim';
    const blanks = matchAt(LEADING_BLANKS, this.#rest, 0);
    this.#lead += blanks;
    this.#rest = this.#rest.slice(blanks.length);
    const rest = this.#rest;
    if (rest === '' && !isComplete) return undefined;
    const lead = this.#lead;
    if (lead.length <= 3) {
      const start = lead + rest.slice(0, 3);
      if (!isComplete && FENCE_RUN_START.test(start)) return undefined;
      if (fenceLikeCharAt(start, 0) !== undefined) return this.#takeLead('fence-candidate');
    }
    if (rest.startsWith(MEDIA_PREFIX)) return this.#takeLead('media');
    if (!isComplete && MEDIA_PREFIX.startsWith(rest)) return undefined;
    this.#gapRuns = [lead];
    this.#lead = '';
    return 'inline';
  }

  /** Puts the leading blanks back in front of the line for modes that read the whole line. */
  #takeLead(mode: LineMode): LineMode {
    this.#rest = this.#lead + this.#rest;
    this.#lead = '';
    return mode;
  }

  #processMediaLine(isComplete: boolean): void {
    if (this.#rest.length > MAX_MEDIA_TAG_CHARS) {
      this.#mode = 'inline';
      return;
    }
    if (!isComplete) return;
    const attachment = parseMediaLine(this.#rest);
    if (attachment === undefined) {
      this.#mode = 'inline';
      return;
    }
    this.attachments.push(attachment);
    this.#layout.addRemovedLine();
    this.#rest = '';
  }

  #processFenceCandidate(isComplete: boolean): void {
    if (!isComplete && this.#rest.length < MAX_MEDIA_TAG_CHARS) return;
    // Only the first MAX_MEDIA_TAG_CHARS chars decide, so the answer cannot depend on chunking. A
    // backtick beyond them (which would void a backtick fence) is missed: more stays code, not less.
    const opener = findFencedBlocks(this.#rest.slice(0, MAX_MEDIA_TAG_CHARS))[0];
    if (opener?.openStart !== 0) {
      this.#mode = 'inline';
      return;
    }
    this.#openingFenceMarker = opener.marker;
    this.#mode = 'verbatim';
    this.#layout.beginContentLine();
  }

  #processVerbatim(isComplete: boolean): void {
    const rest = this.#rest;
    this.#layout.append(rest);
    this.#rest = '';
    const room = MAX_MEDIA_TAG_CHARS - this.#verbatimHead.length;
    this.#verbatimHead += rest.slice(0, room);
    if (rest.length > room && !BLANKS_ONLY.test(rest.slice(room))) this.#isVerbatimTailBlank = false;
    if (!isComplete) return;
    if (this.#openingFenceMarker !== undefined) {
      this.#fenceMarker = this.#openingFenceMarker;
    } else if (
      this.#fenceMarker !== undefined &&
      this.#isVerbatimTailBlank &&
      closesFence(this.#fenceMarker, this.#verbatimHead)
    ) {
      // Trailing blanks never change whether a line closes a fence, so the head alone decides. (A
      // closing run longer than the head is missed: the block stays open, which extracts less.)
      this.#fenceMarker = undefined;
    }
  }

  #processInline(isComplete: boolean): void {
    const rest = this.#rest;
    let pos = 0;
    while (pos < rest.length) {
      const char = rest.charAt(pos);
      let next: number | undefined;
      if (char === '`') {
        next = codeSpanEnd(rest, pos, isComplete);
        if (next !== undefined) this.#emitVisible(rest.slice(pos, next));
      } else if (char === '[') {
        next = this.#processBracket(rest, pos, isComplete);
      } else {
        const space = matchAt(SPACE_RUN, rest, pos);
        if (space === '') {
          const plain = matchAt(PLAIN_RUN, rest, pos);
          this.#emitVisible(plain);
          next = pos + plain.length;
        } else {
          const last = this.#gapRuns.length - 1;
          this.#gapRuns[last] = (this.#gapRuns[last] ?? '') + space;
          next = pos + space.length;
        }
      }
      if (next === undefined) break;
      pos = next;
    }
    this.#rest = rest.slice(pos);
    if (isComplete) this.#finishInlineLine();
  }

  /** Handles the `[` at `pos`; returns where to continue, or `undefined` when more text is needed. */
  #processBracket(rest: string, pos: number, isComplete: boolean): number | undefined {
    const head = rest.slice(pos, pos + TAG_OPENER_CHARS);
    if (!isMediaTagOpenerPrefix(head) || (head.length < TAG_OPENER_CHARS && isComplete)) {
      this.#emitVisible('[');
      return pos + 1;
    }
    if (head.length < TAG_OPENER_CHARS) return undefined;
    const scan = scanMediaTag(rest, pos, isComplete);
    switch (scan.status) {
      case 'need-more':
        return undefined;
      case 'not-a-tag':
        this.#emitVisible('[');
        return pos + 1;
      case 'unterminated':
        this.#removeTag({ raw: rest.slice(pos).trimEnd(), reason: 'unterminated' });
        return rest.length;
      case 'tag': {
        const raw = rest.slice(pos, scan.end);
        this.#removeTag(attachmentFromTag(raw, scan.kind, scan.attributes, scan.isMalformed));
        return scan.end;
      }
    }
  }

  #removeTag(result: MediaAttachment | MediaTagProblem): void {
    if ('source' in result) this.attachments.push(result);
    else this.problems.push(result);
    this.#gapRuns.push('');
    this.#hasRemoval = true;
  }

  #emitVisible(text: string): void {
    if (!this.#hasVisible) {
      this.#layout.beginContentLine();
      this.#hasVisible = true;
      this.#layout.append(this.#gapRuns[0] ?? '');
    } else if (this.#gapRuns.length > 1 || this.#gapRuns[0] !== '') {
      this.#layout.append(this.#gapRuns.find((run) => run !== '') ?? '');
    }
    if (this.#gapRuns.length > 1 || this.#gapRuns[0] !== '') this.#gapRuns = [''];
    this.#layout.append(text);
  }

  #finishInlineLine(): void {
    if (this.#hasVisible) {
      // Trailing whitespace survives only when no tag was removed after the last visible char.
      if (this.#gapRuns.length === 1) this.#layout.append(this.#gapRuns[0] ?? '');
    } else if (this.#hasRemoval) {
      this.#layout.addRemovedLine();
    } else {
      this.#layout.addBlankLine(this.#gapRuns[0] ?? '');
    }
  }
}

/** Whether `line` closes a fenced block opened with `marker`, by the rules of `findFencedBlocks`. */
function closesFence(marker: string, line: string): boolean {
  return findFencedBlocks(`${marker}\n${line}`)[0]?.isClosed === true;
}

function matchAt(pattern: RegExp, text: string, pos: number): string {
  pattern.lastIndex = pos;
  return pattern.exec(text)?.[0] ?? '';
}
