import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fuzzParams } from '../../../test/helpers/fast-check.js';
import {
  decodedText,
  extractableMessageId,
  fuzzFrameArbitrary,
  isDisconnectFrame,
  materializeFrame,
} from '../../../test/helpers/frame-fuzz.js';
import { ackFrame, CALLBACK_ACK_DATA, parseFrame, type FrameKind } from './frames.js';

const BOT_TEMPLATE = {
  msgId: 'msgFuzzTemplate==',
  msgtype: 'text',
  createAt: 1_700_000_000_000,
  conversationType: '1',
  conversationId: 'cidFuzz==',
  senderId: '$:LWCP_v1:$fuzz',
  senderStaffId: 'staff-fuzz',
  senderNick: 'Fuzz',
  chatbotUserId: '$:LWCP_v1:$bot',
  robotCode: 'ding-test-client',
  isInAtList: true,
  atUsers: [{ dingtalkId: '$:LWCP_v1:$bot' }],
  sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=abc',
  sessionWebhookExpiredTime: 1_700_005_400_000,
  text: { content: 'hello' },
};

const KINDS: readonly FrameKind[] = ['callback', 'event', 'ping', 'disconnect', 'invalid'];

/** What parseFrame must guarantee for one frame text; a list of violations. */
function frameViolations(text: string): string[] {
  const parsed = parseFrame(text);
  const problems: string[] = [];
  if (!KINDS.includes(parsed.kind)) problems.push(`unknown kind ${parsed.kind}`);
  const id = extractableMessageId(text);
  if (id !== undefined && parsed.messageId !== id) {
    problems.push(`messageId ${JSON.stringify(parsed.messageId)} instead of ${JSON.stringify(id)}`);
  }
  if (parsed.kind === 'disconnect' && !isDisconnectFrame(text))
    problems.push('disconnect from a non-disconnect');
  if (parsed.kind === 'invalid' && parsed.reason.length > 300) problems.push('overlong reason');
  return problems;
}

describe('parseFrame (property)', () => {
  it('never throws on arbitrary text and reports a known kind', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (text) => {
        expect(frameViolations(text)).toEqual([]);
      }),
      fuzzParams(2_000),
    );
  });

  it('finds the messageId of every mutated frame that still carries one, so it can be acked', () => {
    let withId = 0;
    fc.assert(
      fc.property(fuzzFrameArbitrary(BOT_TEMPLATE), fc.nat(), (frame, n) => {
        const text = decodedText(materializeFrame(frame, `fz-${n}`));
        withId += extractableMessageId(text) === undefined ? 0 : 1;
        expect(frameViolations(text).map((problem) => `${problem} (${frame.recipe})`)).toEqual([]);
      }),
      fuzzParams(1_500),
    );
    // The generator must keep producing frames with ids, or the property says little.
    expect(withId).toBeGreaterThan(500);
  });

  it('builds an ACK that carries any messageId back verbatim as valid JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), (id) => {
        const ack = JSON.parse(ackFrame(id, CALLBACK_ACK_DATA)) as { headers: { messageId: string } };
        expect(ack.headers.messageId).toBe(id);
      }),
      fuzzParams(500),
    );
  });
});
