import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FakeDingTalk, type FakeConnection } from '../../../test/fakes/fake-dingtalk.js';
import { fuzzParams } from '../../../test/helpers/fast-check.js';
import {
  decodedText,
  extractableMessageId,
  fuzzFrameArbitrary,
  isDisconnectFrame,
  materializeFrame,
  type FuzzFrame,
} from '../../../test/helpers/frame-fuzz.js';
import { testConfig } from '../../../test/helpers/test-config.js';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../log/logger.js';
import { createMetrics, type GatewayMetrics } from '../../metrics/metrics.js';
import { DingTalkHttp } from '../api/http-client.js';
import { StreamClient, type CallbackFrame } from './stream-client.js';

let dingtalk: FakeDingTalk;
let http: DingTalkHttp;
let client: StreamClient;
let metrics: GatewayMetrics;
let connection: FakeConnection;
const callbacks: CallbackFrame[] = [];
let nextId = 0;

beforeAll(async () => {
  dingtalk = await FakeDingTalk.start();
  const dir = mkdtempSync(join(tmpdir(), 'stream-fuzz-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(testConfig(dingtalk, 'http://127.0.0.1:9')));
  const [account] = loadConfig({ configPath: join(dir, 'config.json'), env: {}, cwd: dir }).accounts;
  rmSync(dir, { recursive: true, force: true });
  http = new DingTalkHttp({ connectTimeoutMs: 2_000, requestTimeoutMs: 2_000 });
  metrics = createMetrics({ collectProcessMetrics: false });
  client = new StreamClient({
    account: account!,
    http,
    logger: createLogger({ level: 'trace', version: 'test', destination: { write: () => undefined } }),
    metrics,
    onCallback: (frame) => {
      callbacks.push(frame);
      return Promise.resolve('ack');
    },
    onFatal: (error) => {
      throw error;
    },
  });
  client.start();
  connection = (await dingtalk.waitForConnections(1))[0]!;
  await dingtalk.waitFor(
    () => (client.state.status === 'open' ? true : undefined),
    5_000,
    () => 'stream open',
  );
});

afterAll(async () => {
  await client.stop();
  await http.close();
  await dingtalk.close();
});

/** Pushes the frames on the one connection; returns the ids that must be acked and the count sent. */
function pushAll(frames: readonly FuzzFrame[]): { expected: string[]; sent: number } {
  const expected: string[] = [];
  let sent = 0;
  for (const generated of frames) {
    nextId += 1;
    const frame = materializeFrame(generated, `fz-${nextId}`);
    const text = decodedText(frame);
    if (isDisconnectFrame(text)) continue;
    const id = extractableMessageId(text);
    if (id !== undefined) expected.push(id);
    const payload = typeof frame.payload === 'string' ? frame.payload : Buffer.from(frame.payload);
    dingtalk.pushRaw(payload, { connection, binary: frame.binary });
    sent += 1;
  }
  return { expected, sent };
}

function missingAcks(expected: readonly string[]): string[] {
  const acked = new Set(dingtalk.acks.map((ack) => ack.messageId));
  return expected.filter((id) => !acked.has(id));
}

async function framesReceived(): Promise<number> {
  const metric = await metrics.framesReceived.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

describe('StreamClient socket path (fuzz)', () => {
  const template = {
    msgId: 'msgFuzz==',
    msgtype: 'text',
    createAt: Date.now(),
    conversationType: '1',
    conversationId: 'cidFuzz==',
    senderStaffId: 'staff-fuzz',
    chatbotUserId: '$:LWCP_v1:$bot',
    robotCode: 'ding-test-client',
    sessionWebhook: 'http://127.0.0.1:9/robot/sendBySession?session=s',
    sessionWebhookExpiredTime: Date.now() + 60_000,
    text: { content: 'hello' },
  };

  it('acks every frame that carries a messageId, keeps the socket, and hands over only callbacks', async () => {
    let pushed = 0;
    let withId = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzFrameArbitrary(template), { minLength: 1, maxLength: 25 }),
        async (frames) => {
          const { expected, sent } = pushAll(frames);
          pushed += sent + 1;
          withId += expected.length;
          // Frames are handled in order: once the ping behind them is answered, all were read.
          const sentinel = dingtalk.sendPing({ connection });
          await dingtalk.waitForAck(sentinel, 5_000);
          await dingtalk.waitFor(
            () => (missingAcks(expected).length === 0 ? true : undefined),
            5_000,
            () => `ACKs of ${missingAcks(expected).join(', ')}`,
          );
          expect(connection.isOpen).toBe(true);
        },
      ),
      fuzzParams(40),
    );
    expect(withId).toBeGreaterThan(150);
    expect(dingtalk.connections).toHaveLength(1);
    expect(client.state.status).toBe('open');
    expect(callbacks.every((frame) => typeof frame.messageId === 'string' && frame.messageId !== '')).toBe(
      true,
    );
    // Every frame was read and counted (pings included), none lost on the way.
    expect(await framesReceived()).toBeGreaterThanOrEqual(pushed);
  });
});
