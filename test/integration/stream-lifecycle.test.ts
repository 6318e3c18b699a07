import { describe, expect, it } from 'vitest';

import type { FakeDingTalkOptions } from '../fakes/fake-dingtalk.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';

/** Each test starts the DingTalk fake itself, with the options it needs. */
const harness = useGatewayHarness({ deferDingTalk: true, waitForConnection: false });

async function setUp(
  options: FakeDingTalkOptions = {},
  override: Record<string, unknown> = {},
): Promise<GatewayProcess> {
  await harness.startDingTalk(options);
  return harness.start(override);
}

async function readyz(gw: GatewayProcess): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${gw.baseUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

describe('connection', () => {
  it('registers with the credentials and the bot topic, then answers SYSTEM pings with the same data', async () => {
    const gw = await setUp();
    const { dingtalk } = harness;
    await dingtalk.waitForConnections(1);
    expect(dingtalk.openRequests[0]!.body).toMatchObject({
      clientId: 'ding-test-client',
      clientSecret: 'test-secret-value-123',
      subscriptions: [{ type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' }],
    });
    expect((dingtalk.openRequests[0]!.body as { ua: string }).ua).toMatch(/^[\x20-\x7e]{1,64}$/);
    const pingId = dingtalk.sendPing({ opaque: 'opaque-123' });
    const ack = await dingtalk.waitForAck(pingId);
    expect(ack.code).toBe(200);
    expect(ack.dataJson).toEqual({ opaque: 'opaque-123' });
    await expect.poll(() => readyz(gw)).toMatchObject({ status: 200 });
  });

  it('replaces the connection at once on SYSTEM disconnect, with a fresh ticket, and closes the old one', async () => {
    const gw = await setUp({ disconnectDropAfterMs: 5_000 });
    const { dingtalk, openclaw } = harness;
    const [first] = await dingtalk.waitForConnections(1);
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['still answered'], chunkDelayMs: 200 });
    const inFlight = dingtalk.pushBotMessage(dingtalk.dmText('in flight'), { connection: first! });
    await openclaw.waitForRequests(1);
    dingtalk.sendDisconnect({ connection: first! });

    const connections = await dingtalk.waitForConnections(2);
    expect(connections[1]!.ticket).not.toBe(connections[0]!.ticket);
    await first!.waitForClose(3_000);
    // The gateway closed the old socket itself, well before the server would have dropped it.
    expect(first!.serverAction).toBeUndefined();
    expect(first!.closeCode).toBe(1000);
    // The message received on the old connection was acked there and is still answered.
    expect((await dingtalk.waitForAck(inFlight.messageId)).connectionId).toBe(first!.id);
    await dingtalk.waitForWebhookPosts(1);

    const later = dingtalk.pushBotMessage(dingtalk.dmText('after'));
    expect(later.connectionId).toBe(connections[1]!.id);
    await dingtalk.waitForWebhookPosts(2);
    expect(dingtalk.connections).toHaveLength(2);
    expect(dingtalk.openRequests).toHaveLength(2);
    expect(await gw.metric('dingtalk_stream_reconnects_total', { reason: 'server-disconnect' })).toBe(1);
  });

  it('reconnects exactly once with a fresh ticket after the socket is dropped', async () => {
    const gw = await setUp();
    const { dingtalk } = harness;
    const [first] = await dingtalk.waitForConnections(1);
    dingtalk.dropConnection(first!, 'terminate');
    const connections = await dingtalk.waitForConnections(2);
    expect(connections[1]!.ticket).not.toBe(first!.ticket);
    // Nothing else happens: no second, parallel reconnect.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(dingtalk.connections).toHaveLength(2);
    expect(dingtalk.liveConnections()).toHaveLength(1);
    expect(await gw.metric('dingtalk_stream_reconnects_total')).toBe(1);
    const pushed = dingtalk.pushBotMessage(dingtalk.dmText('still there?'));
    await dingtalk.waitForAck(pushed.messageId);
  });

  it('detects a half-open socket (no pongs) and reconnects', async () => {
    const gw = await setUp({ autoPong: false });
    const { dingtalk } = harness;
    const [first] = await dingtalk.waitForConnections(2, 5_000);
    const lost = await gw.waitForLog(
      (line) => line.msg === 'stream socket lost' && line['reason'] === 'heartbeat-timeout',
    );
    expect(lost['detail']).toMatch(/nothing received for 1500 ms/);
    // The gateway itself dropped the silent socket; the server did not close it.
    await first!.waitForClose(2_000);
    expect(first!.serverAction).toBeUndefined();
  });

  it('backs off while connections/open fails with 503, then recovers', async () => {
    const dingtalk = await harness.startDingTalk();
    dingtalk.failNextOpens(3, 503, { code: 'ServiceUnavailable', message: 'try later' });
    const gateway = await harness.start();
    expect((await readyz(gateway)).status).toBe(503);
    await dingtalk.waitForConnections(1);
    expect(dingtalk.openRequests.map((request) => request.status)).toEqual([503, 503, 503, 200]);
    const gaps = dingtalk.openRequests
      .slice(1)
      .map((request, index) => request.atMs - dingtalk.openRequests[index]!.atMs);
    // Delays grow: 50 ms, then about 100, then about 200 (20 % jitter at most).
    expect(gaps[1]!).toBeGreaterThan(gaps[0]! * 1.3);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]! * 1.3);
    await expect.poll(async () => (await readyz(gateway)).status).toBe(200);
  });

  it('stops an account whose credentials are refused and exits with code 3, without a retry loop', async () => {
    const dingtalk = await harness.startDingTalk({ clientSecret: 'the-real-secret' });
    const gateway = await harness.start({ channels: { dingtalk: { clientSecret: 'wrong-secret-value' } } });
    const status = await gateway.exited;
    expect(status.code).toBe(3);
    expect(dingtalk.openRequests).toHaveLength(1);
    expect(dingtalk.openRequests[0]!.status).toBe(401);
    const line = gateway.logs.find((entry) => entry.msg.includes('refused the credentials'));
    expect(JSON.stringify(line)).toContain('check clientId/clientSecret');
    expect(gateway.rawStdout).not.toContain('wrong-secret-value');
  });
});

describe('bad input', () => {
  it('acks and drops malformed frames without dropping the connection or the process', async () => {
    const gw = await setUp();
    const { dingtalk } = harness;
    const [connection] = await dingtalk.waitForConnections(1);
    const frames: { payload: string | Buffer; binary?: boolean; id?: string }[] = [
      { payload: 'not json at all' },
      { payload: '{"type":"CALLBACK","headers":{"messageId":"broken-1"', id: 'broken-1' },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { messageId: 'data-not-json', topic: '/v1.0/im/bot/messages/get' },
          data: '{oops',
        }),
        id: 'data-not-json',
      },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { messageId: 'no-data', topic: '/v1.0/im/bot/messages/get' },
        }),
        id: 'no-data',
      },
      {
        payload: JSON.stringify({ type: 'WHATEVER', headers: { messageId: 'unknown-type' }, data: '{}' }),
        id: 'unknown-type',
      },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { messageId: 'unknown-topic', topic: '/v1.0/card/instances/callback' },
          data: '{}',
        }),
        id: 'unknown-topic',
      },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { messageId: 'bad-message', topic: '/v1.0/im/bot/messages/get' },
          data: JSON.stringify({ msgtype: 42 }),
        }),
        id: 'bad-message',
      },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { topic: '/v1.0/im/bot/messages/get' },
          data: '{}',
        }),
      },
      {
        payload: JSON.stringify({
          type: 'CALLBACK',
          headers: { messageId: 'huge', topic: 'x' },
          data: JSON.stringify({ blob: 'x'.repeat(1_100_000) }),
        }),
        id: 'huge',
      },
      { payload: Buffer.from([0xff, 0x00, 0x13, 0x37]), binary: true },
      { payload: JSON.stringify([1, 2, 3]) },
      { payload: 'null' },
    ];
    for (const frame of frames) {
      dingtalk.pushRaw(frame.payload, { connection: connection!, ...(frame.binary ? { binary: true } : {}) });
    }
    const ids = frames.flatMap((frame) => (frame.id === undefined ? [] : [frame.id]));
    await Promise.all(ids.map((id) => dingtalk.waitForAck(id)));

    const pushed = dingtalk.pushBotMessage(dingtalk.dmText('still fine'), { connection: connection! });
    await dingtalk.waitForWebhookPosts(1);
    await dingtalk.waitForAck(pushed.messageId);
    expect(dingtalk.connections).toHaveLength(1);
    expect(connection!.isOpen).toBe(true);
    expect(
      await gw.metric('dingtalk_stream_frames_received_total', { kind: 'invalid' }),
    ).toBeGreaterThanOrEqual(9);
    expect(await gw.metric('gateway_messages_total', { outcome: 'invalid' })).toBe(1);
  });
});
