import { type BotMessage, GROUP_CONVERSATION_TYPE } from '../dingtalk/bot-message.js';
import type { InboundMessage } from './inbound-message.js';

type JsonRecord = Record<string, unknown>;

function asRecord(value: unknown): JsonRecord | undefined {
  if (typeof value === 'string') {
    try {
      return asRecord(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonRecord)
    : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Placeholder text for message parts the gateway does not hand to the agent yet. */
export const PLACEHOLDERS = {
  picture: '[picture]',
  video: '[video]',
  audio: '[voice message]',
  file: (name: string | undefined) => (name === undefined ? '[file]' : `[file: ${name}]`),
  unsupported: (type: string) => `[unsupported message type: ${type}]`,
} as const;

/** Text of one richText element: text parts, mentions, and placeholders for media. */
function richTextPart(element: JsonRecord): string {
  const type = stringOf(element['type']);
  const text = stringOf(element['text']);
  if (text !== undefined && (type === undefined || type === 'text')) return text;
  switch (type) {
    case 'picture':
      return PLACEHOLDERS.picture;
    case 'video':
      return PLACEHOLDERS.video;
    case 'audio':
      return PLACEHOLDERS.audio;
    case 'file':
      return PLACEHOLDERS.file(stringOf(element['fileName']));
    case 'at': {
      const name = stringOf(element['atName']);
      return name === undefined ? '' : `@${name}`;
    }
    case undefined:
    case 'text':
    default:
      return text ?? '';
  }
}

function richTextOf(content: JsonRecord | undefined): string {
  const direct = content?.['richText'];
  // Current payloads carry `richText: [...]`; some older ones `richText: { richTextList: [...] }`.
  const list = Array.isArray(direct)
    ? direct
    : (asRecord(direct)?.['richTextList'] ?? content?.['richTextList']);
  if (!Array.isArray(list)) return '';
  let joined = '';
  for (const element of list) {
    const record = asRecord(element);
    const part = record === undefined ? '' : richTextPart(record);
    if (part === '') continue;
    // Text segments carry their own line breaks; a placeholder gets a line of its own.
    const needsBreak = joined !== '' && !joined.endsWith('\n') && !part.startsWith('\n');
    joined += needsBreak ? `\n${part}` : part;
  }
  return joined;
}

/** Extracts the agent-facing text of a bot message; media become short placeholders. */
export function messageText(message: BotMessage): string {
  const content = asRecord(message.content);
  switch (message.msgtype) {
    case 'text':
      return message.text?.content ?? stringOf(content?.['content']) ?? '';
    case 'richText':
      return richTextOf(content);
    case 'audio':
      return stringOf(content?.['recognition']) ?? PLACEHOLDERS.audio;
    case 'picture':
      return PLACEHOLDERS.picture;
    case 'video':
      return PLACEHOLDERS.video;
    case 'file':
      return PLACEHOLDERS.file(stringOf(content?.['fileName']));
    case 'markdown':
      return stringOf(content?.['text']) ?? PLACEHOLDERS.unsupported(message.msgtype);
    default:
      return PLACEHOLDERS.unsupported(message.msgtype);
  }
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
    text: messageText(message).trim(),
    sessionWebhook: stringOf(message.sessionWebhook),
    sessionWebhookExpiresAtMs: message.sessionWebhookExpiredTime,
    createdAtMs: message.createAt ?? nowMs,
  };
}
