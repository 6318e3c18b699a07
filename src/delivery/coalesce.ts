import { type OutgoingMessage, isTextual } from '../dingtalk/outgoing-message.js';

/** Separator between coalesced messages. */
const SEPARATOR = '\n\n';

/**
 * How many messages from the head of `queue` fit into one message of at most `maxChars`: the
 * head always, then text/markdown followers of the head's kind while the joined text stays within
 * the limit. Media messages are never coalesced.
 */
export function coalescibleCount(queue: readonly OutgoingMessage[], maxChars: number): number {
  const head = queue[0];
  if (head === undefined) return 0;
  if (!isTextual(head)) return 1;
  let length = head.text.length;
  let count = 1;
  for (const next of queue.slice(1)) {
    if (
      !isTextual(next) ||
      next.kind !== head.kind ||
      length + SEPARATOR.length + next.text.length > maxChars
    )
      break;
    length += SEPARATOR.length + next.text.length;
    count += 1;
  }
  return count;
}

/** Joins text/markdown messages of one kind into one (the first message's title is kept). */
export function coalesce(messages: readonly OutgoingMessage[]): OutgoingMessage {
  const [head] = messages;
  if (head === undefined) throw new RangeError('nothing to coalesce');
  if (messages.length === 1 || !isTextual(head)) return head;
  const text = messages.map((message) => (isTextual(message) ? message.text : '')).join(SEPARATOR);
  return head.kind === 'markdown' ? { kind: 'markdown', title: head.title, text } : { kind: 'text', text };
}
