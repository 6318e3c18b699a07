import type { TextualMessage } from '../dingtalk/outgoing-message.js';
import { type FencedBlock, findFencedBlocks } from './fences.js';
import { type ReplyFormat, applyResponsePrefix, formatReply } from './format-reply.js';

const PARAGRAPH_BREAK = '\n\n';

/** True when `offset` lies inside one of `blocks` (an unclosed block runs to the end). */
function isInsideFence(blocks: readonly FencedBlock[], offset: number): boolean {
  return blocks.some((block) => block.openStart < offset && (offset < block.end || !block.isClosed));
}

/**
 * Splits a reply that is still streaming into messages that are final before the turn ends, so a
 * long answer reaches the user piece by piece instead of all at once (issue #8).
 *
 * A piece is cut only at a paragraph break outside any code block, and only once the text waiting
 * is longer than one message: then nothing after the break can change what comes before it (a
 * table or code block ends before a blank line outside a fence). Pieces are formatted like a whole
 * reply (tables, chunking at `maxChars`, titles); `responsePrefix` goes on the first piece only.
 * Concatenating every piece's text gives the same words as formatting the whole reply at once.
 */
export class ProgressiveReply {
  readonly #format: ReplyFormat;
  #prefix: string | undefined;
  #pending = '';
  #hasEmitted = false;
  /** No cut point in `#pending` as it is: none can appear before a newline arrives. */
  #isUncuttable = false;

  constructor(format: ReplyFormat, responsePrefix: string | undefined) {
    this.#format = format;
    this.#prefix = responsePrefix;
  }

  /** Adds visible reply text; returns the messages that became final (often none). */
  push(text: string): TextualMessage[] {
    this.#pending += text;
    if (this.#pending.length <= this.#format.maxChars) return [];
    // Streaming deltas are small: without a newline no paragraph break (or fence end before one) is
    // new, so skip re-scanning the whole pending text on every delta of a long code block or table.
    if (this.#isUncuttable && !text.includes('\n')) return [];
    const cut = this.#cutPoint();
    this.#isUncuttable = cut === undefined;
    if (cut === undefined) return [];
    const piece = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut + PARAGRAPH_BREAK.length).replace(/^\n+/, '');
    return this.#emit(piece);
  }

  /** Everything left, followed by `trailer` paragraphs (notices, inline images). */
  end(trailer: readonly string[]): TextualMessage[] {
    const rest = [this.#pending.trim(), ...trailer].filter((part) => part !== '').join(PARAGRAPH_BREAK);
    this.#pending = '';
    this.#isUncuttable = false;
    return rest === '' ? [] : this.#emit(rest);
  }

  /** True once any message was returned. */
  get hasEmitted(): boolean {
    return this.#hasEmitted;
  }

  /**
   * The paragraph break to cut at: the last one that keeps the piece within one message, else the
   * last one at all; never inside a code block, never at the very start.
   */
  #cutPoint(): number | undefined {
    const text = this.#pending;
    const blocks = findFencedBlocks(text);
    const firstContent = text.search(/\S/);
    let best: number | undefined;
    for (let at = text.indexOf(PARAGRAPH_BREAK); at !== -1; at = text.indexOf(PARAGRAPH_BREAK, at + 1)) {
      if (firstContent === -1 || firstContent >= at || isInsideFence(blocks, at)) continue;
      if (best !== undefined && at > this.#format.maxChars && best <= this.#format.maxChars) break;
      best = at;
    }
    return best;
  }

  #emit(piece: string): TextualMessage[] {
    const text = applyResponsePrefix(piece.trim(), this.#prefix);
    this.#prefix = undefined;
    this.#hasEmitted = true;
    return formatReply(text, this.#format);
  }
}
