import type { AccountConfig } from '../config/types.js';
import type { InboundMessage } from './inbound-message.js';

/** Why a message gets no answer. Used as a metrics label: keep the set small and fixed. */
export type RejectReason = 'sender-not-allowed' | 'not-mentioned' | 'empty';

export type AccessDecision =
  | { readonly allowed: true; /** The text with a matched `requirePrefix` removed. */ readonly text: string }
  | { readonly allowed: false; readonly reason: RejectReason };

type AccessRules = Pick<
  AccountConfig,
  'allowFrom' | 'requireMention' | 'requirePrefix' | 'mentionBypassUsers'
>;

function senderMatches(list: readonly string[], message: InboundMessage): boolean {
  return list.some((entry) => entry === '*' || entry === message.senderStaffId || entry === message.senderId);
}

/** Removes `prefix` (case-insensitive) and the whitespace after it; undefined when it does not match. */
export function stripPrefix(text: string, prefix: string): string | undefined {
  if (text.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return undefined;
  return text.slice(prefix.length).trimStart();
}

/**
 * Decides whether a message is answered.
 * - `allowFrom` (DMs and groups): the sender's staffId or senderId must be listed; empty = everyone.
 * - Groups: answered when the bot is mentioned (if `requireMention`), or the text starts with
 *   `requirePrefix` (if set), or the sender is in `mentionBypassUsers`. With neither gate
 *   configured every group message is answered. A matched prefix is always stripped.
 * - A message with no text left is not sent to the agent.
 */
export function decideAccess(message: InboundMessage, rules: AccessRules): AccessDecision {
  if (rules.allowFrom.length > 0 && !senderMatches(rules.allowFrom, message)) {
    return { allowed: false, reason: 'sender-not-allowed' };
  }
  let text = message.text;
  if (message.chatType === 'group') {
    const unprefixed = rules.requirePrefix === undefined ? undefined : stripPrefix(text, rules.requirePrefix);
    if (unprefixed !== undefined) text = unprefixed;
    const hasGate = rules.requireMention || rules.requirePrefix !== undefined;
    const passesGate =
      (rules.requireMention && message.isMentioned) ||
      unprefixed !== undefined ||
      senderMatches(rules.mentionBypassUsers, message);
    if (hasGate && !passesGate) return { allowed: false, reason: 'not-mentioned' };
  }
  if (text.trim() === '') return { allowed: false, reason: 'empty' };
  return { allowed: true, text };
}
