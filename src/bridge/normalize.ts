import { type BotMessage, GROUP_CONVERSATION_TYPE } from '../dingtalk/bot-message.js';
import type { InboundMessage } from './inbound-message.js';
import { messageSegments, quotedMessageOf, renderSegments } from './message-content.js';

export { PLACEHOLDERS } from './message-content.js';

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The plain-text view of a bot message: media become short placeholders, audio its transcript. */
export function messageText(message: BotMessage): string {
  return renderSegments(messageSegments(message));
}

/**
 * Maps a validated bot message to an {@link InboundMessage}. The text is trimmed (group messages
 * keep a leading space where DingTalk removed the @mention).
 */
export function normalizeBotMessage(
  accountId: string,
  robotCode: string,
  message: BotMessage,
  nowMs: number,
): InboundMessage {
  const chatType = message.conversationType === GROUP_CONVERSATION_TYPE ? 'group' : 'dm';
  const senderStaffId = stringOf(message.senderStaffId);
  const senderId = stringOf(message.senderId);
  const segments = messageSegments(message);
  return {
    accountId,
    dedupeKey: `${stringOf(message.robotCode) ?? robotCode}:${message.msgId}`,
    msgId: message.msgId,
    msgtype: message.msgtype,
    chatType,
    conversationId: message.conversationId,
    conversationTitle: stringOf(message.conversationTitle),
    senderKey: senderStaffId ?? senderId ?? 'unknown',
    senderStaffId,
    senderId,
    senderNick: stringOf(message.senderNick),
    isMentioned: message.isInAtList === true,
    text: renderSegments(segments).trim(),
    segments,
    quoted: quotedMessageOf(message),
    sessionWebhook: stringOf(message.sessionWebhook),
    sessionWebhookExpiresAtMs: message.sessionWebhookExpiredTime,
    createdAtMs: message.createAt ?? nowMs,
  };
}
