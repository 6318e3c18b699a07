import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';

import { BOT_MESSAGE_TOPIC, dmText, sessionIdFromWebhook } from './bot-message-factory.js';
import { FakeDingTalk } from './fake-dingtalk.js';
import type { FakeDingTalkOptions } from './fake-dingtalk.js';

const CLIENT_ID = 'ding-test-client';
const CLIENT_SECRET = 'test-secret-value-123';
const BOT_SUBSCRIPTIONS = [
  { type: 'EVENT', topic: '*' },
  { type: 'CALLBACK', topic: BOT_MESSAGE_TOPIC },
];

interface JsonResponse {
  status: number;
  body: unknown;
}

interface WireFrame {
  type: string;
  headers: Record<string, string>;
  data: string;
}

/** Minimal Stream client: collects downstream frames and can ACK them. */
interface TestClient {
  ws: WebSocket;
  frames: WireFrame[];
  closed: Promise<number>;
  nextFrame(): Promise<WireFrame>;
  ack(messageId: string, data?: string): void;
}

let fake: FakeDingTalk | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await fake?.close();
  fake = undefined;
});

async function startFake(options: FakeDingTalkOptions = {}): Promise<FakeDingTalk> {
  fake = await FakeDingTalk.start(options);
  return fake;
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, body: await response.body.json() };
}

function openBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    subscriptions: BOT_SUBSCRIPTIONS,
    ua: 'test',
    ...overrides,
  };
}

async function openTicket(target: FakeDingTalk, overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await postJson(`${target.baseUrl}/v1.0/gateway/connections/open`, openBody(overrides));
  expect(response.status).toBe(200);
  const { endpoint, ticket } = response.body as { endpoint: string; ticket: string };
  expect(endpoint).toBe(`${target.baseUrl.replace('http', 'ws')}/connect`);
  return ticket;
}

function connectWithTicket(target: FakeDingTalk, ticket: string): Promise<TestClient> {
  const ws = new WebSocket(`${target.endpoint}?ticket=${encodeURIComponent(ticket)}`);
  clients.push(ws);
  const frames: WireFrame[] = [];
  let readIndex = 0;
  ws.on('message', (raw: Buffer) => frames.push(JSON.parse(raw.toString('utf8')) as WireFrame));
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  const client: TestClient = {
    ws,
    frames,
    closed,
    nextFrame: () =>
      vi.waitFor(() => {
        const frame = frames[readIndex];
        if (frame === undefined) throw new Error('no frame yet');
        readIndex += 1;
        return frame;
      }),
    ack: (messageId, data = '{"response":null}') => {
      ws.send(
        JSON.stringify({
          code: 200,
          headers: { contentType: 'application/json', messageId },
          message: 'OK',
          data,
        }),
      );
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      resolve(client);
    });
    ws.once('error', reject);
  });
}

async function connectClient(
  target: FakeDingTalk,
  overrides: Record<string, unknown> = {},
): Promise<TestClient> {
  return connectWithTicket(target, await openTicket(target, overrides));
}

/** Resolves with the HTTP status of a refused upgrade (ws reports it in the error message). */
function upgradeStatus(url: string): Promise<string> {
  const ws = new WebSocket(url);
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      reject(new Error('upgrade unexpectedly accepted'));
    });
    ws.once('error', (error) => {
      resolve(error.message);
    });
  });
}

describe('FakeDingTalk connections/open and WebSocket upgrade', () => {
  it('hands out a single-use ticket that opens the Stream socket', async () => {
    const target = await startFake();
    const ticket = await openTicket(target);
    await connectWithTicket(target, ticket);

    const [connection] = await target.waitForConnections(1);
    expect(connection?.ticket).toBe(ticket);
    expect(connection?.subscriptions).toEqual(BOT_SUBSCRIPTIONS);
    expect(target.openRequests[0]).toMatchObject({
      status: 200,
      ticket,
      body: { clientId: CLIENT_ID, ua: 'test' },
    });

    await expect(upgradeStatus(`${target.endpoint}?ticket=${ticket}`)).resolves.toContain('401');
    await expect(upgradeStatus(`${target.endpoint}?ticket=nope`)).resolves.toContain('401');
    await vi.waitFor(() => {
      expect(target.rejectedUpgrades.map((r) => r.reason)).toEqual(['used', 'unknown']);
    });
    expect(target.liveConnections()).toHaveLength(1);
  });

  it('refuses expired tickets', async () => {
    const target = await startFake({ ticketTtlMs: 1 });
    const ticket = await openTicket(target);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(upgradeStatus(`${target.endpoint}?ticket=${ticket}`)).resolves.toContain('401');
    expect(target.rejectedUpgrades[0]?.reason).toBe('expired');
  });

  it('answers 401 authFailed to a wrong secret and 400 to missing subscriptions', async () => {
    const target = await startFake();
    const url = `${target.baseUrl}/v1.0/gateway/connections/open`;

    const wrong = await postJson(url, openBody({ clientSecret: 'wrong' }));
    expect(wrong).toMatchObject({ status: 401, body: { code: 'authFailed', message: '鉴权失败' } });
    expect((wrong.body as { requestid: unknown }).requestid).toEqual(expect.any(String));

    const noSubscriptions = await postJson(url, openBody({ subscriptions: [] }));
    expect(noSubscriptions).toMatchObject({ status: 400, body: { code: 'invalidParameter' } });
    expect(target.openRequests.map((r) => r.status)).toEqual([401, 400]);
  });

  it('fails the next opens on demand, then recovers', async () => {
    const target = await startFake();
    target.failNextOpens(2, 503);
    const url = `${target.baseUrl}/v1.0/gateway/connections/open`;

    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await postJson(url, openBody())).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(target.openRequests[2]?.ticket).toEqual(expect.any(String));
  });

  it('rejects a form-encoded body like api.dingtalk.com', async () => {
    const target = await startFake();
    const response = await request(`${target.baseUrl}/v1.0/gateway/connections/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `clientId=${CLIENT_ID}`,
    });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ message: 'body is mandatory for this action' });
  });
});

describe('FakeDingTalk Stream frames', () => {
  it('pushes a bot message as a CALLBACK whose data is a JSON string, and records the ACK', async () => {
    const target = await startFake();
    const client = await connectClient(target);
    const message = target.dmText('hello bot');

    const pushed = target.pushBotMessage(message);
    const frame = await client.nextFrame();
    expect(frame).toMatchObject({
      specVersion: '1.0',
      type: 'CALLBACK',
      headers: {
        appId: target.options.appId,
        connectionId: pushed.connectionId,
        contentType: 'application/json',
        messageId: pushed.messageId,
        topic: BOT_MESSAGE_TOPIC,
      },
    });
    expect(frame.headers['messageId']).toMatch(/^[0-9a-f]{8}_\d{3}_[0-9a-f]+_[0-9a-f]+$/);
    expect(frame.headers['time']).toMatch(/^\d{13}$/);
    expect(typeof frame.data).toBe('string');
    const data = JSON.parse(frame.data) as Record<string, unknown>;
    expect(data).toEqual(message);
    expect(data).toMatchObject({
      conversationType: '1',
      msgtype: 'text',
      text: { content: 'hello bot' },
      robotCode: CLIENT_ID,
      senderStaffId: 'manager807',
    });
    expect(data['msgId']).toMatch(/^msg.+==$/);
    expect(data['conversationId']).toMatch(/^cid/);
    expect(data['senderId']).toMatch(/^\$:LWCP_v1:\$/);
    expect(data['sessionWebhookExpiredTime']).toBe(message.createAt + 5_400_000);
    expect(data['sessionWebhook']).toMatch(`${target.baseUrl}/robot/sendBySession?session=`);

    client.ack(pushed.messageId);
    const ack = await target.waitForAck(pushed.messageId);
    expect(ack).toMatchObject({
      code: 200,
      message: 'OK',
      dataJson: { response: null },
      isKnownMessage: true,
    });
    expect(target.pendingAcks()).toEqual([]);
  });

  it('builds group messages with the leading space left by the removed mention', async () => {
    const target = await startFake();
    const client = await connectClient(target);
    target.pushBotMessage(target.groupText('hello'));

    const data = JSON.parse((await client.nextFrame()).data) as Record<string, unknown>;
    expect(data).toMatchObject({ conversationType: '2', isInAtList: true, text: { content: ' hello' } });
    expect(data['atUsers']).toEqual([{ dingtalkId: data['chatbotUserId'] }]);
  });

  it('only routes bot messages to connections subscribed to the bot topic', async () => {
    const target = await startFake();
    await connectClient(target, { subscriptions: [{ type: 'EVENT', topic: '*' }] });
    expect(() => target.pushBotMessage(target.dmText('x'))).toThrow(/no eligible live connection/);

    await connectClient(target);
    const pushed = target.pushBotMessage(target.dmText('y'));
    expect(pushed.connectionId).toBe(target.connections[1]?.id);
  });

  it('redelivers an unacked CALLBACK with a new messageId and the same data', async () => {
    const target = await startFake({ redeliverAfterMs: 30 });
    const client = await connectClient(target);
    const first = target.pushBotMessage(target.dmText('again'));

    await client.nextFrame();
    const second = await client.nextFrame();
    expect(second.headers['messageId']).not.toBe(first.messageId);
    expect(second.data).toBe(first.frame.data);
    expect(target.pushes[1]?.redeliveryOf).toBe(first.messageId);
  });

  it('records the echo of a SYSTEM ping and unparsable upstream frames', async () => {
    const target = await startFake();
    const client = await connectClient(target);
    const messageId = target.sendPing({ opaque: 'op-1' });

    const ping = await client.nextFrame();
    expect(ping).toMatchObject({
      type: 'SYSTEM',
      headers: { topic: 'ping', messageId },
      data: '{"opaque":"op-1"}',
    });
    client.ack(messageId, ping.data);
    client.ws.send('not json {');

    expect((await target.waitForAck(messageId)).dataJson).toEqual({ opaque: 'op-1' });
    await vi.waitFor(() => {
      expect(target.upstreamFrames.at(-1)).toMatchObject({ text: 'not json {', isParsable: false });
    });
  });

  it('sends a SYSTEM disconnect, stops routing to that socket and drops it later', async () => {
    const target = await startFake({ disconnectDropAfterMs: 40 });
    const client = await connectClient(target);
    target.sendDisconnect();

    expect(await client.nextFrame()).toMatchObject({
      type: 'SYSTEM',
      headers: { topic: 'disconnect' },
      data: '{"reason":"connection is expired"}',
    });
    expect(() => target.pushBotMessage(target.dmText('late'))).toThrow(/no eligible/);
    expect(await client.closed).toBe(1006);
    await target.connections[0]?.waitForClose();
    expect(target.connections[0]).toMatchObject({ serverAction: 'terminate', isOpen: false });
  });

  it('answers WebSocket control pings by default', async () => {
    const target = await startFake();
    const client = await connectClient(target);
    const pong = new Promise((resolve) => client.ws.once('pong', resolve));
    client.ws.ping('hb');
    await pong;
    expect(target.connections[0]?.controlPingsReceived).toBe(1);
  });

  it('leaves control pings unanswered with autoPong false', async () => {
    const target = await startFake({ autoPong: false });
    const client = await connectClient(target);
    const onPong = vi.fn();
    client.ws.on('pong', onPong);
    client.ws.ping('hb');
    await vi.waitFor(() => {
      expect(target.controlFrames).toMatchObject([{ kind: 'ping', payload: 'hb' }]);
    });
    // Asserting that something did not happen needs a short real wait.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(onPong).not.toHaveBeenCalled();
  });
});

describe('FakeDingTalk HTTP APIs', () => {
  it('answers session webhooks: ok, bad shape, expired and unknown sessions', async () => {
    const target = await startFake();
    const message = target.dmText('hi');
    const sessionId = sessionIdFromWebhook(message.sessionWebhook, target.baseUrl)!;

    const ok = await postJson(message.sessionWebhook, { msgtype: 'text', text: { content: 'reply' } });
    expect(ok).toEqual({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
    const markdown = await postJson(message.sessionWebhook, {
      msgtype: 'markdown',
      markdown: { title: 't', text: '**x**' },
    });
    expect(markdown.body).toEqual({ errcode: 0, errmsg: 'ok' });
    const bad = await postJson(message.sessionWebhook, {
      msgtype: 'markdown',
      markdown: { text: 'no title' },
    });
    expect(bad).toMatchObject({ status: 200, body: { errcode: 40035 } });

    target.expireSession(sessionId);
    const expired = await postJson(message.sessionWebhook, { msgtype: 'text', text: { content: 'late' } });
    expect(expired).toEqual({ status: 200, body: { errcode: 300001, errmsg: 'session 不存在' } });
    // A builder without the fake's context points at a session the fake never handed out.
    const stranger = dmText('x', {}, { baseUrl: target.baseUrl });
    expect(
      (await postJson(stranger.sessionWebhook, { msgtype: 'text', text: { content: 'a' } })).body,
    ).toMatchObject({
      errcode: 300001,
    });

    const posts = await target.waitForWebhookPosts(5);
    expect(posts[0]).toMatchObject({
      sessionId,
      conversationId: message.conversationId,
      response: { status: 200 },
    });
  });

  it('lets tests script webhook failures', async () => {
    const target = await startFake();
    const message = target.dmText('hi');
    target.scriptWebhook((post) =>
      post.sessionId === null ? undefined : { status: 502, body: { error: 'bad' } },
    );

    const scripted = await postJson(message.sessionWebhook, { msgtype: 'text', text: { content: 'r' } });
    expect(scripted).toEqual({ status: 502, body: { error: 'bad' } });
  });

  it('issues access tokens and guards the robot send APIs with them', async () => {
    const target = await startFake();
    const base = target.baseUrl;
    const sendBody = {
      robotCode: CLIENT_ID,
      userIds: ['manager807'],
      msgKey: 'sampleText',
      msgParam: '{"content":"hi"}',
    };

    const badSecret = await postJson(`${base}/v1.0/oauth2/accessToken`, {
      appKey: CLIENT_ID,
      appSecret: 'x',
    });
    expect(badSecret).toMatchObject({ status: 400, body: { code: 'invalidClientIdOrSecret' } });
    const tokenResponse = await postJson(`${base}/v1.0/oauth2/accessToken`, {
      appKey: CLIENT_ID,
      appSecret: CLIENT_SECRET,
    });
    expect(tokenResponse).toMatchObject({ status: 200, body: { expireIn: 7200 } });
    const { accessToken } = tokenResponse.body as { accessToken: string };
    expect(target.issuedAccessTokens).toEqual([accessToken]);

    const anonymous = await postJson(`${base}/v1.0/robot/oToMessages/batchSend`, sendBody);
    expect(anonymous).toMatchObject({
      status: 400,
      body: { code: 'InvalidAuthentication', message: '不合法的access_token' },
    });
    const authed = await postJson(`${base}/v1.0/robot/oToMessages/batchSend`, sendBody, {
      'x-acs-dingtalk-access-token': accessToken,
    });
    expect(authed.status).toBe(200);
    expect((authed.body as { processQueryKey: unknown }).processQueryKey).toEqual(expect.any(String));
    expect(target.robotMessages[0]).toMatchObject({
      kind: 'oto',
      msgKey: 'sampleText',
      msgParam: { content: 'hi' },
    });

    target.invalidateAccessTokens();
    const group = await postJson(
      `${base}/v1.0/robot/groupMessages/send`,
      { ...sendBody, userIds: undefined, openConversationId: 'cidX==' },
      { 'x-acs-dingtalk-access-token': accessToken },
    );
    expect(group.status).toBe(400);
    expect(target.apiRequests.map((r) => r.response.status)).toEqual([400, 200, 400, 200, 400]);
  });

  it('answers 404 notFound on unknown paths and lets tests script any path', async () => {
    const target = await startFake();
    const unknown = await postJson(`${target.baseUrl}/v1.0/nope`, {});
    expect(unknown).toMatchObject({ status: 404, body: { code: 'notFound' } });

    target.scriptApi('/v1.0/card/streaming', () => ({ status: 200, body: { success: true, result: true } }));
    expect((await postJson(`${target.baseUrl}/v1.0/card/streaming`, {})).body).toEqual({
      success: true,
      result: true,
    });
  });
});
