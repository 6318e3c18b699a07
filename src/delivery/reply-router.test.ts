import pino from 'pino';
import type { Counter } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { BotMessageData } from '../../test/fakes/bot-message-factory.js';
import type { FakeDingTalk } from '../../test/fakes/fake-dingtalk.js';
import { type DingTalkApiHarness, startDingTalkApi } from '../../test/helpers/dingtalk-api.js';
import type { ProactiveSender } from '../dingtalk/api/robot-send.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { DingTalkApiError, UndeliverableError } from '../errors.js';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import type { ReplyRoute } from '../state/store.js';
import { type DeliveryPolicy, ReplyRouter } from './reply-router.js';

const ACCOUNT = 'main';
const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const DM_PATH = '/v1.0/robot/oToMessages/batchSend';
const GROUP_PATH = '/v1.0/robot/groupMessages/send';
const SAFETY_MARGIN_MS = 60_000;
const ATTEMPTS = 3;
// sampleImageMsg takes a media_id from media/upload or an image URL; a URL keeps this test about routing.
const PHOTO_URL = 'https://static.example.com/cat.png';
const MESSAGE: OutgoingMessage = { kind: 'markdown', title: 'Reply', text: '**hello** 你好' };

const POLICY: DeliveryPolicy = {
  webhookSafetyMarginMs: SAFETY_MARGIN_MS,
  attempts: ATTEMPTS,
  retryBackoff: { initialDelayMs: 5, maxDelayMs: 20, factor: 2, jitterRatio: 0 },
};

const log = pino({ level: 'silent' });

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let metrics: GatewayMetrics;
let router: ReplyRouter;

function makeRouter(policy: DeliveryPolicy = POLICY): ReplyRouter {
  const sender: ProactiveSender = {
    apiBase: fake.baseUrl,
    robotCode: fake.options.clientId,
    http: api.http,
    tokens: api.tokens,
  };
  return new ReplyRouter({
    http: api.http,
    proactive: new Map([[ACCOUNT, sender]]),
    allowedOrigins: new Map([[ACCOUNT, [fake.baseUrl]]]),
    policy,
    metrics,
  });
}

beforeEach(async () => {
  metrics = createMetrics({ collectProcessMetrics: false });
  api = await startDingTalkApi({}, (endpoint, status) => metrics.dingtalkApiCalls.inc({ endpoint, status }));
  fake = api.fake;
  router = makeRouter();
});

afterEach(() => api.close());

/** The route the bridge stores for a bot message. */
function routeOf(data: BotMessageData, overrides: Partial<ReplyRoute> = {}): ReplyRoute {
  const isGroup = data.conversationType === '2';
  return {
    conversationKey: `${ACCOUNT}:${data.conversationId}`,
    accountId: ACCOUNT,
    chatType: isGroup ? 'group' : 'dm',
    webhookUrl: data.sessionWebhook,
    webhookExpiresAtMs: data.sessionWebhookExpiredTime,
    staffId: isGroup ? undefined : data.senderStaffId,
    openConversationId: isGroup ? data.conversationId : undefined,
    ...overrides,
  };
}

function sessionOf(data: BotMessageData): string {
  return new URL(data.sessionWebhook).searchParams.get('session') ?? '';
}

async function counterValue<T extends string>(
  counter: Counter<T>,
  labels: Partial<Record<T, string>>,
): Promise<number> {
  const { values } = await counter.get();
  const matching = values.filter((v) =>
    Object.entries(labels).every(([key, value]) => v.labels[key as T] === value),
  );
  return matching.reduce((sum, v) => sum + v.value, 0);
}

async function replies(route: string, outcome: string): Promise<number> {
  return counterValue(metrics.repliesSent, { route, outcome });
}

/** The UndeliverableError `promise` rejects with. */
async function undeliverable(promise: Promise<unknown>): Promise<UndeliverableError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UndeliverableError);
  return error as UndeliverableError;
}

describe('ReplyRouter', () => {
  it('uses a valid session webhook', async () => {
    const data = fake.dmText('hi');
    await expect(router.deliver(routeOf(data), MESSAGE, log)).resolves.toBe('webhook');

    expect(fake.webhookPosts).toHaveLength(1);
    expect(fake.webhookPosts[0]).toMatchObject({
      sessionId: sessionOf(data),
      body: { msgtype: 'markdown', markdown: { title: 'Reply', text: '**hello** 你好' } },
      response: { status: 200, body: { errcode: 0 } },
    });
    expect(fake.robotMessages).toHaveLength(0);
    expect(await replies('webhook', 'ok')).toBe(1);
    expect(await counterValue(metrics.dingtalkApiCalls, { endpoint: 'session-webhook', status: '200' })).toBe(
      1,
    );
  });

  it('sends a media message through the proactive API even while the webhook is valid', async () => {
    const data = fake.dmText('hi');
    await expect(router.deliver(routeOf(data), { kind: 'image', mediaId: PHOTO_URL }, log)).resolves.toBe(
      'proactive',
    );
    expect(fake.webhookPosts).toHaveLength(0);
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]).toMatchObject({
      kind: 'oto',
      msgKey: 'sampleImageMsg',
      msgParam: { photoURL: PHOTO_URL },
    });
    expect(await replies('webhook', 'rejected')).toBe(0);
  });

  it('sends a DM through batchSend to the staffId when the webhook is inside the safety margin', async () => {
    const data = fake.dmText('hi');
    const route = routeOf(data, { webhookExpiresAtMs: Date.now() + SAFETY_MARGIN_MS - 5_000 });
    await expect(router.deliver(route, MESSAGE, log)).resolves.toBe('proactive');

    expect(fake.webhookPosts).toHaveLength(0);
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]).toMatchObject({
      kind: 'oto',
      body: { userIds: [data.senderStaffId], robotCode: fake.options.clientId },
      msgKey: 'sampleMarkdown',
      msgParam: { title: 'Reply', text: '**hello** 你好' },
    });
    expect(await replies('proactive', 'ok')).toBe(1);
    expect(
      await counterValue(metrics.dingtalkApiCalls, {
        endpoint: 'robot/oToMessages/batchSend',
        status: '200',
      }),
    ).toBe(1);
    expect(
      await counterValue(metrics.dingtalkApiCalls, { endpoint: 'oauth2/accessToken', status: '200' }),
    ).toBe(1);
  });

  it('sends a group reply through groupMessages/send when the webhook is inside the safety margin', async () => {
    const data = fake.groupText('hi');
    const route = routeOf(data, { webhookExpiresAtMs: Date.now() + 1_000 });
    await expect(router.deliver(route, { kind: 'text', text: 'plain' }, log)).resolves.toBe('proactive');

    expect(fake.webhookPosts).toHaveLength(0);
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]).toMatchObject({
      kind: 'group',
      body: { openConversationId: data.conversationId },
      msgKey: 'sampleText',
      msgParam: { content: 'plain' },
    });
  });

  it('honours the injected clock for the safety margin', async () => {
    const data = fake.dmText('hi');
    const late = new ReplyRouter({
      http: api.http,
      proactive: new Map(),
      allowedOrigins: new Map([[ACCOUNT, [fake.baseUrl]]]),
      policy: POLICY,
      metrics,
      now: () => data.sessionWebhookExpiredTime - SAFETY_MARGIN_MS,
    });
    // Exactly at the margin the webhook is no longer used; no proactive sender is configured.
    await undeliverable(late.deliver(routeOf(data), MESSAGE, log));
    expect(fake.webhookPosts).toHaveLength(0);
  });

  it('falls back on errcode 300001 and never tries that webhook again', async () => {
    const data = fake.dmText('hi');
    fake.expireSession(sessionOf(data));
    const route = routeOf(data);

    await expect(router.deliver(route, MESSAGE, log)).resolves.toBe('proactive');
    expect(fake.webhookPosts).toHaveLength(1);
    expect(fake.webhookPosts[0]?.response.body).toMatchObject({ errcode: 300001 });
    expect(fake.robotMessages).toHaveLength(1);
    expect(await replies('webhook', 'rejected')).toBe(1);

    await expect(router.deliver(route, MESSAGE, log)).resolves.toBe('proactive');
    expect(fake.webhookPosts).toHaveLength(1);
    expect(fake.robotMessages).toHaveLength(2);

    // A new message brings a new webhook, which is used again.
    const next = fake.dmText('again');
    await expect(router.deliver(routeOf(next), MESSAGE, log)).resolves.toBe('webhook');
    expect(fake.webhookPosts).toHaveLength(2);
  });

  it('retries a webhook 503 and then succeeds on the webhook', async () => {
    const data = fake.dmText('hi');
    let posts = 0;
    fake.scriptWebhook(() => {
      posts += 1;
      return posts === 1 ? { status: 503, body: { errcode: -1, errmsg: 'busy' } } : undefined;
    });

    await expect(router.deliver(routeOf(data), MESSAGE, log)).resolves.toBe('webhook');
    expect(fake.webhookPosts.map((p) => p.response.status)).toEqual([503, 200]);
    expect(fake.robotMessages).toHaveLength(0);
    expect(await replies('webhook', 'retry')).toBe(1);
    expect(await replies('webhook', 'ok')).toBe(1);
    expect(await counterValue(metrics.dingtalkApiCalls, { endpoint: 'session-webhook', status: '503' })).toBe(
      1,
    );
  });

  it('falls back to the proactive API when the webhook fails on every try', async () => {
    const data = fake.groupText('hi');
    fake.scriptWebhook(() => ({ status: 503, body: { errcode: -1, errmsg: 'busy' } }));

    await expect(router.deliver(routeOf(data), MESSAGE, log)).resolves.toBe('proactive');
    expect(fake.webhookPosts).toHaveLength(ATTEMPTS);
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]?.kind).toBe('group');
    expect(await replies('webhook', 'retry')).toBe(ATTEMPTS - 1);
    expect(await replies('webhook', 'error')).toBe(1);
    expect(await replies('proactive', 'ok')).toBe(1);
  });

  it('refuses a webhook on a foreign origin and uses the proactive API', async () => {
    const data = fake.dmText('hi');
    const forged = routeOf(data, {
      webhookUrl: `http://127.0.0.1:1/robot/sendBySession?session=${sessionOf(data)}`,
    });

    await expect(router.deliver(forged, MESSAGE, log)).resolves.toBe('proactive');
    expect(fake.webhookPosts).toHaveLength(0);
    expect(fake.robotMessages).toHaveLength(1);
    expect(await replies('webhook', 'rejected')).toBe(1);
    expect(await counterValue(metrics.dingtalkApiCalls, { endpoint: 'session-webhook' })).toBe(0);
  });

  it('throws UndeliverableError for a DM without webhook and without staffId, sending nothing', async () => {
    const data = fake.dmText('hi');
    const route = routeOf(data, { webhookUrl: undefined, webhookExpiresAtMs: undefined, staffId: undefined });

    const error = await undeliverable(router.deliver(route, MESSAGE, log));
    expect(error.message).toContain('staffId');
    expect(fake.apiRequests).toHaveLength(0);
    expect(await replies('proactive', 'no-target')).toBe(1);
  });

  it('throws UndeliverableError for a group without webhook and without group id', async () => {
    const data = fake.groupText('hi');
    const route = routeOf(data, {
      webhookUrl: undefined,
      webhookExpiresAtMs: undefined,
      openConversationId: undefined,
    });
    await undeliverable(router.deliver(route, MESSAGE, log));
    expect(fake.apiRequests).toHaveLength(0);
  });

  it('sends exactly one proactive request on a permission error and reports it as the cause', async () => {
    fake.scriptApi(DM_PATH, () => ({
      status: 403,
      body: { requestid: 'R1', code: 'Forbidden.AccessDenied', message: 'no permission' },
    }));
    const data = fake.dmText('hi');
    const route = routeOf(data, { webhookUrl: undefined, webhookExpiresAtMs: undefined });

    const error = await undeliverable(router.deliver(route, MESSAGE, log));
    expect(api.requestsTo(DM_PATH)).toBe(1);
    expect(error.cause).toBeInstanceOf(DingTalkApiError);
    expect(error.cause).toMatchObject({ status: 403, apiCode: 'Forbidden.AccessDenied', retryable: false });
    expect(await replies('proactive', 'rejected')).toBe(1);
    expect(await replies('proactive', 'retry')).toBe(0);
  });

  it('retries a proactive 503 and gives up after the configured attempts', async () => {
    fake.scriptApi(GROUP_PATH, () => ({ status: 503, body: { code: 'ServiceUnavailable', message: 'x' } }));
    const data = fake.groupText('hi');
    const route = routeOf(data, { webhookUrl: undefined, webhookExpiresAtMs: undefined });

    const error = await undeliverable(router.deliver(route, MESSAGE, log));
    expect(api.requestsTo(GROUP_PATH)).toBe(ATTEMPTS);
    expect(error.cause).toMatchObject({ status: 503 });
    expect(await replies('proactive', 'retry')).toBe(ATTEMPTS - 1);
    expect(await replies('proactive', 'error')).toBe(1);
  });

  it('refreshes an invalid access token once and sends', async () => {
    const data = fake.dmText('hi');
    const route = routeOf(data, { webhookUrl: undefined, webhookExpiresAtMs: undefined });
    await router.deliver(route, MESSAGE, log);
    fake.invalidateAccessTokens();

    await expect(router.deliver(route, MESSAGE, log)).resolves.toBe('proactive');
    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expect(api.requestsTo(DM_PATH)).toBe(3);
    expect(fake.robotMessages).toHaveLength(2);
    expect(await replies('proactive', 'ok')).toBe(2);
    expect(await replies('proactive', 'retry')).toBe(0);
    expect(
      await counterValue(metrics.dingtalkApiCalls, {
        endpoint: 'robot/oToMessages/batchSend',
        status: '400',
      }),
    ).toBe(1);
  });

  it('stops on abort during a webhook backoff instead of falling back', async () => {
    const slow = makeRouter({ ...POLICY, retryBackoff: { ...POLICY.retryBackoff, initialDelayMs: 10_000 } });
    fake.scriptWebhook(() => ({ status: 503, body: { errcode: -1, errmsg: 'busy' } }));
    const data = fake.dmText('hi');
    const controller = new AbortController();

    const delivery = slow.deliver(routeOf(data), MESSAGE, log, controller.signal);
    await fake.waitForWebhookPosts(1);
    controller.abort(new Error('shutting down'));

    await expect(delivery).rejects.toThrow('shutting down');
    expect(fake.webhookPosts).toHaveLength(1);
    expect(fake.robotMessages).toHaveLength(0);
  });
});
