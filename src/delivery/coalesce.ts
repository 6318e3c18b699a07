import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';

/** Separator between coalesced messages. */
const SEPARATOR = '\n\n';

/**
 * How many messages from the head of `queue` fit into one message of at most `maxChars`: the
 * head always, then followers of the same kind while the joined text stays within the limit.
 */
export function coalescibleCount(queue: readonly OutgoingMessage[], maxChars: number): number {
  const head = queue[0];
  if (head === undefined) return 0;
  let length = head.text.length;
  let count = 1;
  for (const next of queue.slice(1)) {
    if (next.kind !== head.kind || length + SEPARATOR.length + next.text.length > maxChars) break;
    length += SEPARATOR.length + next.text.length;
    count += 1;
  }
  return count;
}

/** Joins messages of one kind into one (the first message's title is kept). */
export function coalesce(messages: readonly OutgoingMessage[]): OutgoingMessage {
  const [head] = messages;
  if (head === undefined) throw new RangeError('nothing to coalesce');
  const text = messages.map((message) => message.text).join(SEPARATOR);
  return head.kind === 'markdown' ? { kind: 'markdown', title: head.title, text } : { kind: 'text', text };
}
