// Inbox entries, routes and reply messages for the state store tests (one DM conversation).
import { expect } from 'vitest';

import type { InboundMessage } from '../../src/bridge/inbound-message.js';
import type { OutgoingMessage } from '../../src/dingtalk/outgoing-message.js';
import type { NewInboxEntry, ReplyRoute, StateStore } from '../../src/state/store.js';

/** Dedupe TTL of the stores under test. */
export const TTL_MS = 60_000;
/** The tests' clock: dedupe expiry follows the `nowMs` callers pass, not the wall clock. */
export const T0 = 1_700_000_000_000;
export const ACCOUNT = 'main';
const CONVERSATION = 'cidDm1';
export const CONVERSATION_KEY = `${ACCOUNT}:${CONVERSATION}`;

function inbound(msgId: string): InboundMessage {
  return {
    accountId: ACCOUNT,
    dedupeKey: `robot:${msgId}`,
    msgId,
    msgtype: 'text',
    chatType: 'dm',
    conversationId: CONVERSATION,
    conversationTitle: undefined,
    senderKey: 'manager807',
    senderStaffId: 'manager807',
    senderId: '$:LWCP_v1:$abc',
    senderNick: '张三',
    isMentioned: false,
    text: `hello ${msgId} 你好 [picture]`,
    segments: [
      { type: 'text', text: `hello ${msgId} 你好` },
      { type: 'picture', downloadCode: 'dl-code-1' },
    ],
    quoted: { msgtype: 'text', segments: [{ type: 'text', text: 'quoted 引用' }] },
    sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=s1',
    sessionWebhookExpiresAtMs: T0 + 5_400_000,
    createdAtMs: T0,
  };
}

/** An inbox entry of the test conversation for message `msgId`. */
export function entry(
  msgId: string,
  acceptedAtMs = T0,
  overrides: Partial<NewInboxEntry> = {},
): NewInboxEntry {
  const message = inbound(msgId);
  return {
    dedupeKey: message.dedupeKey,
    accountId: ACCOUNT,
    queueKey: CONVERSATION_KEY,
    job: { message, text: message.text, sessionKey: `dingtalk:${CONVERSATION}` },
    acceptedAtMs,
    ...overrides,
  };
}

/** The test conversation's reply route. */
export function route(overrides: Partial<ReplyRoute> = {}): ReplyRoute {
  return {
    conversationKey: CONVERSATION_KEY,
    accountId: ACCOUNT,
    chatType: 'dm',
    webhookUrl: 'https://oapi.dingtalk.com/robot/sendBySession?session=s1',
    webhookExpiresAtMs: T0 + 5_400_000,
    staffId: 'manager807',
    openConversationId: undefined,
    ...overrides,
  };
}

export const MD: OutgoingMessage = { kind: 'markdown', title: 'Reply', text: '**one**' };
export const TXT: OutgoingMessage = { kind: 'text', text: 'two 二' };

/** Accepts `e` and returns its id, failing the test when it was not accepted. */
export async function acceptId(
  store: StateStore,
  e: NewInboxEntry,
  r: ReplyRoute = route(),
): Promise<number> {
  const result = await store.accept(e, r);
  expect(result.status).toBe('accepted');
  return (result as { id: number }).id;
}
