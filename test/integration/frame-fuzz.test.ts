import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { FakeConnection } from '../fakes/fake-dingtalk.js';
import { FUZZ_SEED } from '../helpers/fast-check.js';
import {
  decodedText,
  extractableMessageId,
  fuzzFrameArbitrary,
  ID_PLACEHOLDER,
  isDisconnectFrame,
  materializeFrame,
} from '../helpers/frame-fuzz.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';

const FRAME_COUNT = 400;

const harness = useGatewayHarness();

/** Pushes {@link FRAME_COUNT} generated frames (never a SYSTEM disconnect); returns the ids to be acked. */
function pushFuzzFrames(
  connection: FakeConnection,
  template: Record<string, unknown>,
): { expected: string[]; recipes: Map<string, string> } {
  const { dingtalk } = harness;
  const frames = fc.sample(fuzzFrameArbitrary(template), { seed: FUZZ_SEED, numRuns: FRAME_COUNT });
  const expected: string[] = [];
  const recipes = new Map<string, string>();
  for (const [index, generated] of frames.entries()) {
    const frame = materializeFrame(generated, `e2e-${index}`);
    const text = decodedText(frame);
    if (isDisconnectFrame(text)) continue;
    const id = extractableMessageId(text);
    if (id !== undefined) {
      expected.push(id);
      recipes.set(id, frame.recipe);
    }
    const payload = typeof frame.payload === 'string' ? frame.payload : Buffer.from(frame.payload);
    dingtalk.pushRaw(payload, { connection, binary: frame.binary });
  }
  return { expected, recipes };
}

function missingAcks(expected: readonly string[]): string[] {
  const acked = new Set(harness.dingtalk.acks.map((ack) => ack.messageId));
  return expected.filter((id) => !acked.has(id));
}

describe('hostile Stream frames through the real daemon', () => {
  it(`survives ${FRAME_COUNT} mutated frames on one connection, acks every one with an id, and still answers`, async () => {
    const { dingtalk } = harness;
    const gw = await harness.start({ log: { level: 'info' } });
    let hasExited = false;
    void gw.exited.then(() => (hasExited = true));
    const [connection] = await dingtalk.waitForConnections(1);
    // Every bot message gets its own msgId (the frame's id), so they are not deduped away.
    const template = { ...dingtalk.dmText('fuzz', { senderStaffId: 'fuzzer' }), msgId: ID_PLACEHOLDER };

    const { expected, recipes } = pushFuzzFrames(connection!, template);
    expect(expected.length).toBeGreaterThan(FRAME_COUNT / 3);
    // Frames are read in order: once the ping behind them is answered, every one was handled.
    await dingtalk.waitForAck(dingtalk.sendPing({ connection }), 10_000);
    await dingtalk.waitFor(
      () => (missingAcks(expected).length === 0 ? true : undefined),
      15_000,
      () =>
        `ACKs of ${missingAcks(expected)
          .map((id) => `${id} (${recipes.get(id)})`)
          .join('; ')}`,
    );

    expect(hasExited).toBe(false);
    expect(dingtalk.connections).toHaveLength(1);
    expect(connection!.isOpen).toBe(true);
    expect((await fetch(`${gw.baseUrl}/readyz`)).status).toBe(200);

    dingtalk.pushBotMessage(dingtalk.dmText('still here?', { senderStaffId: 'after-fuzz' }), { connection });
    await dingtalk.waitFor(
      () =>
        dingtalk.webhookPosts.find((post) => JSON.stringify(post.body).includes('echo: still here?')) ??
        undefined,
      10_000,
      () => 'the answer to a normal message after the fuzz',
    );
    expect(gw.logs.filter((line) => line.msg.startsWith('callback handler failed'))).toEqual([]);
    expect(gw.logs.filter((line) => line.level >= 60)).toEqual([]);
    // The fuzz reached the bridge: mutated bot messages were accepted, rejected and found invalid.
    const outcomes = Object.fromEntries(
      await Promise.all(
        ['accepted', 'rejected', 'invalid'].map(
          async (outcome) => [outcome, await gw.metric('gateway_messages_total', { outcome })] as const,
        ),
      ),
    );
    process.stderr.write(`OUTCOMES ${JSON.stringify(outcomes)}\n`);
    expect(outcomes['accepted']).toBeGreaterThan(10);
    expect(outcomes['invalid']).toBeGreaterThan(10);
    expect(gw.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError|SyntaxError/i);
  });
});
