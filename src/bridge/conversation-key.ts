import type { InboundMessage } from './inbound-message.js';

/**
 * Key of the conversation a message came from (`<accountId>:<conversationId>`): replies to it share
 * one route and one send rate limit.
 */
export function conversationKeyOf(message: Pick<InboundMessage, 'accountId' | 'conversationId'>): string {
  return `${message.accountId}:${message.conversationId}`;
}
