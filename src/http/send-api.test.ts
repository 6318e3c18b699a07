import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import type { OutboundRequest, OutboundResult } from '../delivery/send-message.js';
import { createLogger } from '../log/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { SEND_API_PATH } from './send-api.js';
import { buildHttpServer } from './server.js';

const TOKEN = 'unit-test-send-token-0123456789';

const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });

interface Harness {
  readonly app: FastifyInstance;
  readonly requests: OutboundRequest[];
  setResult(result: OutboundResult): void;
  advance(ms: number): void;
  accepting: boolean;
}

let apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
});

function harness(options: { withToken?: boolean; requests?: number } = {}): Harness {
  const requests: OutboundRequest[] = [];
  let result: OutboundResult = { status: 'sent', sent: 1, processQueryKeys: ['pqk'] };
  let nowMs = 0;
  const state = { accepting: true };
  const metrics = createMetrics({ collectProcessMetrics: false });
  const app = buildHttpServer({
    logger: createLogger({ level: 'silent', version: 'test', destination: silent, pretty: false }),
    metrics,
    readiness: () => [],
    isAccepting: () => true,
    sendApi:
      options.withToken === false
        ? undefined
        : {
            token: TOKEN,
            rateLimit: { requests: options.requests ?? 100, windowMs: 10_000 },
            messenger: {
              send: (request) => {
                requests.push(request);
                return Promise.resolve(result);
              },
            },
            metrics,
            isAccepting: () => state.accepting,
            signal: new AbortController().signal,
            now: () => nowMs,
          },
  });
  apps.push(app);
  return {
    app,
    requests,
    setResult: (next) => (result = next),
    advance: (ms) => (nowMs += ms),
    get accepting() {
      return state.accepting;
    },
    set accepting(value: boolean) {
      state.accepting = value;
    },
  };
}

/** POSTs `body` as JSON; `authorization` null sends no header. */
function post(app: FastifyInstance, body: unknown, authorization: string | null = `Bearer ${TOKEN}`) {
  return app.inject({
    method: 'POST',
    url: SEND_API_PATH,
    headers: authorization === null ? {} : { authorization },
    payload: body as object,
  });
}

describe('POST /v1/messages', () => {
  it('does not exist without a token', async () => {
    const { app } = harness({ withToken: false });
    expect((await post(app, { staffId: 'u', text: 'hi' })).statusCode).toBe(404);
  });

  it.each([
    ['no header', null],
    ['another scheme', `Basic ${TOKEN}`],
    ['a wrong token of the same length', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['a shorter token', 'Bearer abc'],
    ['the token with a suffix', `Bearer ${TOKEN}0`],
  ])('answers 401 for %s, before reading the body', async (_name, authorization) => {
    const { app, requests } = harness();
    const response = await post(app, 'not json at all', authorization);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(response.json()).toEqual({ error: 'unauthorized' });
    expect(requests).toHaveLength(0);
  });

  it('accepts the scheme in any case and maps a DM request', async () => {
    const { app, requests } = harness();
    const response = await post(app, { staffId: 'manager1', text: 'hello' }, `bearer ${TOKEN}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ sent: 1, processQueryKeys: ['pqk'] });
    expect(requests).toEqual([
      {
        accountId: 'default',
        target: { kind: 'dm', userId: 'manager1' },
        content: { format: 'text', text: 'hello', title: undefined },
        media: [],
      },
    ]);
  });

  it('maps a group markdown request with media and an account', async () => {
    const { app, requests } = harness();
    await post(app, {
      account: 'sales',
      openConversationId: 'cid1',
      markdown: '# Hi',
      title: 'T',
      media: [{ path: '/data/a.png' }, { path: '/data/b.pdf', name: 'B.pdf' }],
    });
    expect(requests[0]).toEqual({
      accountId: 'sales',
      target: { kind: 'group', openConversationId: 'cid1' },
      content: { format: 'markdown', text: '# Hi', title: 'T' },
      media: [
        { path: '/data/a.png', name: undefined },
        { path: '/data/b.pdf', name: 'B.pdf' },
      ],
    });
  });

  it('lists every problem of a bad body by key path', async () => {
    const { app, requests } = harness();
    const response = await post(app, {
      staffId: 7,
      text: '   ',
      media: [{ path: 'relative.png', name: 'a/b.png' }, { size: 1 }],
      extra: true,
    });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ error: string; issues: { path: string; message: string }[] }>();
    expect(body.error).toBe('invalid request');
    expect(body.issues.map((issue) => issue.path).sort()).toEqual(
      ['extra', 'media.0.name', 'media.0.path', 'media.1.path', 'media.1.size', 'staffId', 'text'].sort(),
    );
    expect(requests).toHaveLength(0);
  });

  it.each([
    [{ text: 'x' }, 'staffId', 'exactly one of staffId'],
    [{ staffId: 'u', openConversationId: 'c', text: 'x' }, 'staffId', 'exactly one of staffId'],
    [{ staffId: 'u', text: 'x', markdown: 'y' }, 'markdown', 'not both'],
    [{ staffId: 'u' }, 'text', 'give text, markdown or media'],
    [{ staffId: 'u', text: 'x', title: 't' }, 'title', 'markdown only'],
  ])('checks the combination of fields: %j', async (body, path, message) => {
    const response = await post(harness().app, body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'invalid request',
      issues: [{ path, message: expect.stringContaining(message) as unknown }],
    });
  });

  it('answers 400 with a message for a body that is not JSON', async () => {
    const response = await harness().app.inject({
      method: 'POST',
      url: SEND_API_PATH,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: '{"text": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: expect.any(String) as unknown });
  });

  it('limits requests per token and says when to come back', async () => {
    const h = harness({ requests: 2 });
    expect((await post(h.app, { staffId: 'u', text: '1' })).statusCode).toBe(200);
    h.advance(1_000);
    expect((await post(h.app, { staffId: 'u', text: '2' })).statusCode).toBe(200);
    h.advance(1_000);
    const limited = await post(h.app, { staffId: 'u', text: '3' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('8');
    expect(limited.json()).toEqual({ error: 'too many requests', retryAfterSeconds: 8 });
    h.advance(8_000);
    expect((await post(h.app, { staffId: 'u', text: '4' })).statusCode).toBe(200);
    expect(h.requests.map((request) => request.content?.text)).toEqual(['1', '2', '4']);
  });

  it('maps the messenger results to 400, 429 and 502', async () => {
    const h = harness();
    h.setResult({ status: 'invalid', issues: [{ path: 'media.0.path', message: 'outside' }] });
    const invalid = await post(h.app, { staffId: 'u', text: 'x' });
    expect([invalid.statusCode, invalid.json()]).toEqual([
      400,
      { error: 'invalid request', issues: [{ path: 'media.0.path', message: 'outside' }] },
    ]);
    h.setResult({ status: 'rate-limited', retryAfterMs: 1_500 });
    const limited = await post(h.app, { staffId: 'u', text: 'x' });
    expect([limited.statusCode, limited.headers['retry-after']]).toEqual([429, '2']);
    h.setResult({
      status: 'failed',
      sent: 1,
      processQueryKeys: ['k1'],
      endpoint: 'robot/oToMessages/batchSend',
      dingtalkStatus: 403,
      apiCode: 'Forbidden.AccessDenied',
      message: 'no permission',
    });
    const failed = await post(h.app, { staffId: 'u', text: 'x' });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toMatchObject({ code: 'Forbidden.AccessDenied', status: 403, sent: 1 });
  });

  it('answers 503 once shutdown began', async () => {
    const h = harness();
    h.accepting = false;
    expect((await post(h.app, { staffId: 'u', text: 'x' })).statusCode).toBe(503);
    expect(h.requests).toHaveLength(0);
  });
});
