import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FAKE_OPENCLAW_TOKEN, FakeOpenClaw, splitInThree } from './fake-openclaw.js';

interface RawReply {
  status: number;
  contentType: string | null;
  text: string;
}

describe('FakeOpenClaw', () => {
  let fake: FakeOpenClaw;

  beforeEach(async () => {
    fake = await FakeOpenClaw.start();
  });

  afterEach(async () => {
    await fake.close();
  });

  async function post(body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
    const response = await fetch(`${fake.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${FAKE_OPENCLAW_TOKEN}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      text: await response.text(),
    };
  }

  function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      model: 'openclaw/main',
      stream: true,
      messages: [{ role: 'user', content: 'ping' }],
      ...overrides,
    };
  }

  /** The JSON payloads of `data:` lines, with `[DONE]` kept as a string. */
  function dataEvents(text: string): unknown[] {
    return text
      .split('\n\n')
      .filter((block) => block.startsWith('data: '))
      .map((block) => block.slice('data: '.length))
      .map((data) => (data === '[DONE]' ? data : (JSON.parse(data) as unknown)));
  }

  it('answers GET /health like the real gateway, without auth', async () => {
    const response = await fetch(`${fake.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, status: 'live' });
  });

  it('rejects a missing or wrong token with the real 401 body and still records the request', async () => {
    const reply = await post(chatBody(), { authorization: 'Bearer nope' });
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.text)).toEqual({ error: { message: 'Unauthorized', type: 'unauthorized' } });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.headers['authorization']).toBe('Bearer nope');
  });

  it.each(['openclaw', 'openclaw/main', 'openclaw:main', 'agent:main'])('accepts model %s', async (model) => {
    expect((await post(chatBody({ model }))).status).toBe(200);
  });

  it.each(['gpt-4o', 'openclaw/', '', 'claw/main'])(
    'rejects model %j with the real 400 message',
    async (model) => {
      const reply = await post(chatBody({ model }));
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toMatchObject({
        error: { message: 'Invalid `model`. Use `openclaw` or `openclaw/<agentId>`.' },
      });
    },
  );

  it.each(['subagent:x', 'cron:nightly', 'acp:1'])(
    'rejects the reserved session key %s',
    async (sessionKey) => {
      const reply = await post(chatBody(), { 'x-openclaw-session-key': sessionKey });
      expect(reply.status).toBe(400);
      expect(reply.text).toContain('cannot use reserved internal session namespaces');
    },
  );

  it('streams the default echo in the real chunk layout: role, content×3, stop, [DONE]', async () => {
    const reply = await post(chatBody({ model: 'openclaw/ops' }), {
      'x-openclaw-session-key': 'dingtalk:dm:u1',
    });
    expect(reply.contentType).toMatch(/^text\/event-stream/);
    const events = dataEvents(reply.text);
    expect(events).toHaveLength(6);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as { id: string; object: string; model: string; choices: unknown[] }[];
    expect(chunks.map((c) => c.choices[0])).toEqual([
      { index: 0, delta: { role: 'assistant' }, finish_reason: null },
      { index: 0, delta: { content: 'echo' }, finish_reason: null },
      { index: 0, delta: { content: ': p' }, finish_reason: null },
      { index: 0, delta: { content: 'ing' }, finish_reason: null },
      { index: 0, delta: {}, finish_reason: 'stop' },
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.id).toMatch(/^chatcmpl_/);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'openclaw/ops')).toBe(
      true,
    );
    expect(fake.requests[0]).toMatchObject({
      sessionKey: 'dingtalk:dm:u1',
      lastUserText: 'ping',
      aborted: false,
    });
  });

  it('adds a usage chunk when stream_options.include_usage is set', async () => {
    const events = dataEvents((await post(chatBody({ stream_options: { include_usage: true } }))).text);
    expect(events.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: 10 } });
  });

  it('answers a non-streaming request with a chat.completion object', async () => {
    fake.enqueueReplies({ kind: 'stream', chunks: ['a', 'b'] });
    const reply = await post(chatBody({ stream: false }));
    expect(JSON.parse(reply.text)).toMatchObject({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ab' }, finish_reason: 'stop' }],
    });
  });

  it('sends an error event followed by [DONE], as the real gateway fails', async () => {
    fake.enqueueReplies({ kind: 'stream', chunks: ['x'], error: { message: 'boom' } });
    const events = dataEvents((await post(chatBody())).text);
    expect(events.slice(-2)).toEqual([{ error: { message: 'boom', type: 'api_error' } }, '[DONE]']);
  });

  it('uses queued replies first, then the handler', async () => {
    fake.setHandler(() => ({ kind: 'json', status: 503, body: { error: { message: 'busy' } } }));
    fake.enqueueReplies({
      kind: 'raw',
      status: 502,
      contentType: 'text/html',
      body: '<html>bad gateway</html>',
    });
    const first = await post(chatBody());
    const second = await post(chatBody());
    expect([first.status, first.text]).toEqual([502, '<html>bad gateway</html>']);
    expect(second.status).toBe(503);
  });

  it('waitForRequests resolves once enough requests arrived and rejects after its timeout', async () => {
    const waiting = fake.waitForRequests(2, 2_000);
    await post(chatBody({ messages: [{ role: 'user', content: [{ type: 'text', text: 'multi' }] }] }));
    await post(chatBody());
    const requests = await waiting;
    expect(requests.map((r) => r.lastUserText)).toEqual(['multi', 'ping']);
    await expect(fake.waitForRequests(3, 50)).rejects.toThrow(/expected 3 requests, got 2/);
  });

  it('close() ends a hanging request and marks it aborted', async () => {
    fake.enqueueReplies({ kind: 'hang' });
    const pending = post(chatBody()).catch((error: unknown) => error);
    await fake.waitForRequests(1);
    await fake.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(fake.requests[0]!.aborted).toBe(true);
  });

  it('splits text into three pieces at grapheme boundaries', () => {
    expect(splitInThree('你好世界👋')).toEqual(['你好', '世界', '👋']);
    expect(splitInThree('ab')).toEqual(['a', 'b', '']);
  });
});
