import { describe, expect, it } from 'vitest';

import type { InboundMessage } from './inbound-message.js';
import { inboundMessage } from '../../test/helpers/inbound-message.js';

import { sessionKeyFor } from './session-key.js';

function message(overrides: Partial<InboundMessage>): InboundMessage {
  return inboundMessage({
    accountId: 'sales',
    conversationId: 'cidAbC+/xyz==',
    senderKey: 'staffA',
    senderStaffId: 'staffA',
    ...overrides,
  });
}

describe('sessionKeyFor', () => {
  it.each([
    ['DM by staffId', message({}), false, 'dingtalk:sales:dm:staffA'],
    ['DM ignores the group isolation flag', message({}), true, 'dingtalk:sales:dm:staffA'],
    [
      'DM by encrypted senderId',
      message({ senderKey: '$:LWCP_v1:$x', senderStaffId: undefined }),
      false,
      'dingtalk:sales:dm:$:LWCP_v1:$x',
    ],
    ['group shared by everyone', message({ chatType: 'group' }), false, 'dingtalk:sales:group:cidAbC+/xyz=='],
    [
      'group isolated per user',
      message({ chatType: 'group' }),
      true,
      'dingtalk:sales:group:cidAbC+/xyz==:user:staffA',
    ],
  ])('%s', (_name, input, isolate, expected) => {
    expect(sessionKeyFor(input, isolate)).toBe(expected);
  });

  it('keeps the case of conversation ids (they are case-sensitive base64)', () => {
    const upper = sessionKeyFor(message({ chatType: 'group', conversationId: 'cidAAA' }), false);
    const lower = sessionKeyFor(message({ chatType: 'group', conversationId: 'cidaaa' }), false);
    expect(upper).not.toBe(lower);
  });

  it('separates accounts, and DMs from groups', () => {
    const keys = new Set([
      sessionKeyFor(message({ accountId: 'a' }), false),
      sessionKeyFor(message({ accountId: 'b' }), false),
      sessionKeyFor(message({ accountId: 'a', chatType: 'group' }), false),
      sessionKeyFor(message({ accountId: 'a', chatType: 'group' }), true),
      sessionKeyFor(message({ accountId: 'a', chatType: 'group', senderKey: 'staffB' }), true),
    ]);
    expect(keys.size).toBe(5);
  });
});
