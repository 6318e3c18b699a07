import type { TextualMessage } from '../dingtalk/outgoing-message.js';
import { chunkReply } from './chunker.js';
import { titleFromMarkdown } from './markdown-title.js';
import { convertTablesToCode } from './tables.js';

export interface ReplyFormat {
  readonly replyMode: 'text' | 'markdown';
  readonly maxChars: number;
  readonly tableMode: 'code' | 'off';
}

/**
 * The message format for an account's text replies: its `replyMode`, with `card` replies falling
 * back to markdown (cards are unavailable, cooling down, or a notice is sent as a message).
 */
export function textFormat(account: {
  readonly replyMode: 'text' | 'markdown' | 'card';
  readonly maxChars: number;
  readonly tableMode: 'code' | 'off';
}): ReplyFormat {
  return {
    replyMode: account.replyMode === 'card' ? 'markdown' : account.replyMode,
    maxChars: account.maxChars,
    tableMode: account.tableMode,
  };
}

/** Title of a markdown message whose text yields none. */
export const FALLBACK_TITLE = 'Reply';

/**
 * Turns the agent's reply text into the messages to send, in order: tables converted (markdown
 * with `tableMode: code`), then split at `maxChars`, each markdown chunk titled by its first line.
 */
export function formatReply(text: string, format: ReplyFormat): TextualMessage[] {
  const isMarkdown = format.replyMode === 'markdown';
  const body = isMarkdown && format.tableMode === 'code' ? convertTablesToCode(text) : text;
  return chunkReply(body, format.maxChars).map((chunk): TextualMessage =>
    isMarkdown
      ? { kind: 'markdown', title: titleFromMarkdown(chunk.text, FALLBACK_TITLE), text: chunk.text }
      : { kind: 'text', text: chunk.text },
  );
}

/** Puts `responsePrefix` before a reply (`"<prefix> <text>"`, or no space when the prefix ends in one). */
export function applyResponsePrefix(text: string, prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return text;
  return /\s$/.test(prefix) ? `${prefix}${text}` : `${prefix} ${text}`;
}
