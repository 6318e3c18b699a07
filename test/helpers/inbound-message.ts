import type { InboundMessage } from '../../src/bridge/inbound-message.js';

/** A plain DM text message as the bridge sees it after normalization; override what a test needs. */
export function inboundMessage(overrides: Partial<InboundMessage> = {}): InboundMessage {
  const text = overrides.text ?? 'hello';
  return {
    accountId: 'default',
    dedupeKey: 'robot:msg-1',
    msgId: 'msg-1',
    msgtype: 'text',
    chatType: 'dm',
    conversationId: 'cid-1',
    conversationTitle: undefined,
    senderKey: 'staff-1',
    senderStaffId: 'staff-1',
    senderId: '$:LWCP_v1:$enc1',
    senderNick: 'Alice',
    isMentioned: false,
    text,
    segments: [{ type: 'text', text }],
    quoted: undefined,
    sessionWebhook: undefined,
    sessionWebhookExpiresAtMs: undefined,
    createdAtMs: 0,
    ...overrides,
  };
}
