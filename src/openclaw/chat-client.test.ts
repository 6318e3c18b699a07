import { getEventListeners } from 'node:events';
import { createServer } from 'node:net';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FAKE_OPENCLAW_TOKEN, FakeOpenClaw } from '../../test/fakes/fake-openclaw.js';
import {
  OpenClawHttpError,
  OpenClawStreamError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../errors.js';
import {
  OpenClawChatClient,
  OpenClawTurnStreamError,
  TurnAbortedError,
  type ChatTurnRequest,
  type ChatTurnSummary,
  type OpenClawChatClientOptions,
  type OpenClawProtocolWarning,
} from './chat-client.js';

const TURN: ChatTurnRequest = {
  sessionKey: 'dingtalk:dm:user001',
  agentId: 'main',
  messages: [{ role: 'user', content: 'hello' }],
};

interface TurnResult {
  deltas: string[];
  deltaAtMs: number[];
  summary: ChatTurnSummary | undefined;
  error: unknown;
}

/** Drives one turn to its end, keeping the deltas, the summary or the error. */
async function runTurn(client: OpenClawChatClient, turn: ChatTurnRequest = TURN): Promise<TurnResult> {
  const result: TurnResult = { deltas: [], deltaAtMs: [], summary: undefined, error: undefined };
  const stream = client.streamChat(turn);
  try {
    for (;;) {
      const step = await stream.next();
      if (step.done === true) {
        result.summary = step.value;
        return result;
      }
      result.deltas.push(step.value);
      result.deltaAtMs.push(Date.now());
    }
  } catch (error) {
    result.error = error;
    return result;
  }
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function sse(...events: string[]): string {
  return events.map((data) => `data: ${data}\n\n`).join('');
}

function contentChunk(content: string, extraDelta: object = {}): string {
  return JSON.stringify({
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content, ...extraDelta } }],
  });
}

describe('OpenClawChatClient', () => {
  let fake: FakeOpenClaw;
  let client: OpenClawChatClient;
  const warnings: OpenClawProtocolWarning[] = [];

  function makeClient(overrides: Partial<OpenClawChatClientOptions> = {}): OpenClawChatClient {
    return new OpenClawChatClient({
      baseUrl: fake.baseUrl,
      token: FAKE_OPENCLAW_TOKEN,
      timeoutMs: 5_000,
      onProtocolWarning: (warning) => warnings.push(warning),
      ...overrides,
    });
  }

  beforeEach(async () => {
    warnings.length = 0;
    fake = await FakeOpenClaw.start();
    client = makeClient();
  });

  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  describe('successful turns', () => {
    it('yields paced deltas in order as they arrive and returns the finish reason', async () => {
      fake.enqueueReplies({ kind: 'stream', chunks: ['Hel', 'lo, ', 'wor', 'ld'], chunkDelayMs: 60 });
      const result = await runTurn(client);
      expect(result.error).toBeUndefined();
      expect(result.deltas).toEqual(['Hel', 'lo, ', 'wor', 'ld']);
      expect(result.summary).toEqual({ finishReason: 'stop', textChars: 12 });
      // Incremental, not buffered: the first delta was seen well before the last one was sent.
      expect(result.deltaAtMs.at(-1)! - result.deltaAtMs[0]!).toBeGreaterThanOrEqual(120);
    });

    it('streams the default echo reply', async () => {
      const result = await runTurn(client);
      expect(result.deltas.join('')).toBe('echo: hello');
    });

    it('sends the documented headers and body, with a CJK session key percent-encoded', async () => {
      const turn: ChatTurnRequest = {
        sessionKey: 'dingtalk:group:Cid1:user:张三',
        agentId: 'ops-bot',
        messages: [
          { role: 'system', content: 'Use [DING:IMAGE] tags.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            ],
          },
        ],
      };
      await runTurn(client, turn);
      const [recorded] = await fake.waitForRequests(1);
      expect(recorded!.headers).toMatchObject({
        authorization: `Bearer ${FAKE_OPENCLAW_TOKEN}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'x-openclaw-session-key': 'dingtalk:group:Cid1:user:%E5%BC%A0%E4%B8%89',
        'x-openclaw-agent-id': 'ops-bot',
        'x-openclaw-message-channel': 'dingtalk',
      });
      expect(recorded!.body).toEqual({ model: 'openclaw/ops-bot', stream: true, messages: turn.messages });
      expect(recorded!.lastUserText).toBe('what is this?');
    });

    it('omits Authorization when no token is configured', async () => {
      const open = await FakeOpenClaw.start({ token: null });
      const anonymous = makeClient({ baseUrl: `${open.baseUrl}/`, token: undefined });
      try {
        const result = await runTurn(anonymous);
        const [recorded] = await open.waitForRequests(1);
        expect(result.deltas.join('')).toBe('echo: hello');
        expect(recorded!.headers['authorization']).toBeUndefined();
      } finally {
        await anonymous.close();
        await open.close();
      }
    });

    it('reassembles events and UTF-8 characters split across TCP writes, including [DONE]', async () => {
      fake.enqueueReplies({ kind: 'stream', chunks: ['你好', '，世界 👋'], splitWrites: true });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['你好', '，世界 👋']);
      expect(result.summary?.finishReason).toBe('stop');
    });

    it('accepts a non-streamed JSON answer as one delta', async () => {
      fake.enqueueReplies({
        kind: 'json',
        status: 200,
        body: {
          object: 'chat.completion',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'whole answer' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        },
      });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['whole answer']);
      expect(result.summary).toMatchObject({
        finishReason: 'stop',
        textChars: 12,
        usage: { total_tokens: 5 },
      });
    });

    it('ignores role-only, empty, reasoning and usage-only chunks and skips malformed ones with a warning', async () => {
      const body =
        ': keep-alive comment\n\n' +
        sse(
          JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }),
          contentChunk(''),
          JSON.stringify({ choices: [{ index: 0, delta: { reasoning_content: 'secret thoughts' } }] }),
          contentChunk('A'),
          '{"choices":[{"delta":{"content":"broken',
          JSON.stringify({ hello: 'world' }),
          contentChunk('B', { reasoning_content: 'more thoughts' }),
        ) +
        'event: custom\ndata: x\n\n' +
        sse(
          JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] }),
          JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
          '[DONE]',
        ) +
        sse(contentChunk('after done'));
      fake.enqueueReplies({ kind: 'raw', status: 200, contentType: 'text/event-stream', body });
      const result = await runTurn(client);
      expect(result.error).toBeUndefined();
      expect(result.deltas).toEqual(['A', 'B']);
      expect(result.summary).toMatchObject({
        finishReason: 'length',
        textChars: 2,
        usage: { total_tokens: 3 },
      });
      expect(warnings.map((w) => w.kind)).toEqual(['malformed-json', 'unexpected-shape', 'unknown-event']);
      expect(warnings[0]!.snippet).toBe('{"choices":[{"delta":{"content":"broken');
      expect(client.protocolWarningCount).toBe(3);
    });

    it('answers a stream kept open after [DONE] once a short grace is over, and frees the socket', async () => {
      const body = sse(
        contentChunk('lingering'),
        JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }] }),
        '[DONE]',
      );
      fake.enqueueReplies({
        kind: 'raw',
        status: 200,
        contentType: 'text/event-stream',
        body,
        keepOpen: true,
      });
      const result = await runTurn(client);
      // Cut after the grace (1 s): the turn timeout (5 s) would end it with an error instead.
      expect(result.error).toBeUndefined();
      expect(result.deltas).toEqual(['lingering']);
      expect(result.summary?.finishReason).toBe('stop');
      await expect.poll(() => fake.openConnections()).toBe(0);
    });

    it('returns normally when the body ends after a finish reason without [DONE]', async () => {
      const body = sse(
        contentChunk('done'),
        JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }] }),
      );
      fake.enqueueReplies({ kind: 'raw', status: 200, contentType: 'text/event-stream', body });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['done']);
      expect(result.summary?.finishReason).toBe('stop');
    });

    it('never logs the token or skipped payload text, even at debug level', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
      const logged = makeClient({ logger });
      const body = sse('{"not json: SECRET-PAYLOAD', contentChunk('ok'), '[DONE]');
      fake.enqueueReplies({ kind: 'raw', status: 200, contentType: 'text/event-stream', body });
      fake.enqueueReplies({ kind: 'json', status: 401, body: { error: { message: 'Unauthorized' } } });
      await runTurn(logged);
      await runTurn(logged);
      await logged.close();
      const output = lines.join('');
      expect(output).toContain('openclaw turn finished');
      expect(output).toContain('skipped an OpenClaw stream event');
      expect(output).not.toContain(FAKE_OPENCLAW_TOKEN);
      expect(output).not.toContain('SECRET-PAYLOAD');
    });

    it('leaves no listener on the caller signal after the turn', async () => {
      const controller = new AbortController();
      await runTurn(client, { ...TURN, signal: controller.signal });
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(controller.signal.aborted).toBe(false);
    });
  });

  describe('HTTP errors', () => {
    it('maps 401 to OpenClawHttpError with a token hint and no token in the message', async () => {
      const wrong = makeClient({ token: 'wrong-token-value' });
      const result = await runTurn(wrong);
      await wrong.close();
      expect(result.error).toBeInstanceOf(OpenClawHttpError);
      expect(result.error).toMatchObject({ status: 401, retryable: false });
      const message = (result.error as Error).message;
      expect(message).toBe('OpenClaw answered HTTP 401 (Unauthorized): check openclaw.token');
      expect(JSON.stringify(result.error)).not.toContain('wrong-token-value');
    });

    it('keeps a 500 HTML page as a snippet without assuming JSON', async () => {
      const html = `<html><body>${'Internal Server Error '.repeat(40)}</body></html>`;
      fake.enqueueReplies({ kind: 'raw', status: 500, contentType: 'text/html', body: html });
      const result = await runTurn(client);
      expect(result.error).toBeInstanceOf(OpenClawHttpError);
      const error = result.error as OpenClawHttpError;
      expect(error).toMatchObject({ status: 500, retryable: true, retryAfterMs: undefined });
      expect(error.message).toBe('OpenClaw answered HTTP 500');
      expect(error.bodySnippet.startsWith('<html><body>Internal')).toBe(true);
      expect(error.bodySnippet.length).toBeLessThanOrEqual(201);
    });

    it('drops an error page longer than it reads, keeps the status, and the next turn still works', async () => {
      fake.enqueueReplies({ kind: 'raw', status: 502, contentType: 'text/html', body: 'x'.repeat(200_000) });
      const result = await runTurn(client);
      expect(result.error).toBeInstanceOf(OpenClawHttpError);
      expect(result.error).toMatchObject({ status: 502, retryable: true });
      expect((await runTurn(client)).deltas.join('')).not.toBe('');
    });

    it('refuses a JSON answer over 16 MiB as oversized, and the next turn still works', async () => {
      const body = JSON.stringify({
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(17 * 1024 * 1024) } }],
      });
      fake.enqueueReplies({ kind: 'raw', status: 200, contentType: 'application/json', body });
      const result = await runTurn(client);
      expect(result.error).toBeInstanceOf(OpenClawTurnStreamError);
      expect(result.error).toMatchObject({ kind: 'oversized' });
      expect((await runTurn(client)).deltas.join('')).not.toBe('');
    });

    it('honours Retry-After on 429', async () => {
      fake.enqueueReplies({
        kind: 'json',
        status: 429,
        body: { error: { message: 'Too many requests', type: 'rate_limited' } },
        headers: { 'retry-after': '7' },
      });
      const result = await runTurn(client);
      expect(result.error).toBeInstanceOf(OpenClawHttpError);
      expect(result.error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7_000 });
      expect((result.error as Error).message).toContain('Too many requests');
    });

    it('reports the gateway 400 for a reserved session key namespace', async () => {
      const result = await runTurn(client, { ...TURN, sessionKey: 'cron:nightly' });
      expect(result.error).toBeInstanceOf(OpenClawHttpError);
      expect(result.error).toMatchObject({ status: 400, retryable: false });
      expect((result.error as Error).message).toContain('reserved internal session namespaces');
    });
  });

  describe('transport failures and deadlines', () => {
    it('maps a refused connection to OpenClawUnavailableError', async () => {
      const refused = makeClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
      const result = await runTurn(refused);
      await refused.close();
      expect(result.error).toBeInstanceOf(OpenClawUnavailableError);
      expect((result.error as Error).message).toContain('ECONNREFUSED');
    });

    it('maps a socket destroyed before the response to OpenClawUnavailableError', async () => {
      fake.enqueueReplies({ kind: 'destroy' });
      const result = await runTurn(client);
      expect(result.error).toBeInstanceOf(OpenClawUnavailableError);
    });

    it('times out a hanging gateway after timeoutMs and closes the request', async () => {
      const quick = makeClient({ timeoutMs: 300 });
      fake.enqueueReplies({ kind: 'hang' });
      const startedAtMs = Date.now();
      const result = await runTurn(quick);
      const elapsedMs = Date.now() - startedAtMs;
      await quick.close();
      expect(result.error).toBeInstanceOf(OpenClawTimeoutError);
      expect(result.error).toMatchObject({ timeoutMs: 300 });
      expect(elapsedMs).toBeGreaterThanOrEqual(280);
      expect(elapsedMs).toBeLessThan(2_000);
      await expect.poll(() => fake.requests[0]?.aborted).toBe(true);
    });

    it('times out a stream that is still running at the deadline, after yielding what arrived', async () => {
      const quick = makeClient({ timeoutMs: 400 });
      fake.enqueueReplies({ kind: 'stream', chunks: ['a', 'b', 'c', 'd'], chunkDelayMs: 150 });
      const result = await runTurn(quick);
      await quick.close();
      expect(result.error).toBeInstanceOf(OpenClawTimeoutError);
      expect(result.deltas.length).toBeGreaterThanOrEqual(1);
      expect(result.deltas.length).toBeLessThan(4);
    });
  });

  describe('stream failures', () => {
    it('throws OpenClawStreamError on an error event after yielding the earlier deltas', async () => {
      fake.enqueueReplies({
        kind: 'stream',
        chunks: ['partial ', 'answer'],
        error: { message: 'upstream model failed', type: 'api_error' },
      });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['partial ', 'answer']);
      expect(result.error).toBeInstanceOf(OpenClawStreamError);
      expect(result.error).toMatchObject({
        message: 'OpenClaw stream failed: upstream model failed',
        kind: 'error-event',
        apiType: 'api_error',
        partialTextChars: 14,
        retryable: false,
      });
    });

    it('treats an `event: error` as a stream failure', async () => {
      const body = sse(contentChunk('x')) + 'event: error\ndata: {"error":{"message":"boom"}}\n\n';
      fake.enqueueReplies({ kind: 'raw', status: 200, contentType: 'text/event-stream', body });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['x']);
      expect(result.error).toMatchObject({ kind: 'error-event', message: 'OpenClaw stream failed: boom' });
    });

    it('reports a stream cut without [DONE] with the partial text length', async () => {
      fake.enqueueReplies({ kind: 'stream', chunks: ['one ', 'two ', 'three'], cutAfterChunks: 2 });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['one ', 'two ']);
      expect(result.error).toBeInstanceOf(OpenClawTurnStreamError);
      expect(result.error).toMatchObject({ kind: 'incomplete', partialTextChars: 8 });
    });

    it('reports a body that ends cleanly without [DONE] or finish reason as incomplete', async () => {
      fake.enqueueReplies({
        kind: 'raw',
        status: 200,
        contentType: 'text/event-stream',
        body: sse(contentChunk('hi')),
      });
      const result = await runTurn(client);
      expect(result.deltas).toEqual(['hi']);
      expect(result.error).toMatchObject({ kind: 'incomplete', partialTextChars: 2 });
      expect((result.error as Error).message).toBe('OpenClaw stream ended without [DONE] after 2 characters');
    });
  });

  describe('abort and close', () => {
    it('aborts through the caller signal mid-stream and closes the request', async () => {
      fake.enqueueReplies({ kind: 'stream', chunks: ['first', 'second', 'third'], chunkDelayMs: 200 });
      const controller = new AbortController();
      const stream = client.streamChat({ ...TURN, signal: controller.signal });
      expect(await stream.next()).toEqual({ done: false, value: 'first' });
      controller.abort(new Error('user said /stop'));
      const error: unknown = await stream.next().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TurnAbortedError);
      expect(error).toMatchObject({ name: 'AbortError', cause: new Error('user said /stop') });
      await expect.poll(() => fake.requests[0]?.aborted).toBe(true);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('does not send anything when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await runTurn(client, { ...TURN, signal: controller.signal });
      expect(result.error).toBeInstanceOf(TurnAbortedError);
      expect(fake.requests).toHaveLength(0);
    });

    it('closes the request when the consumer stops iterating early', async () => {
      fake.enqueueReplies({ kind: 'stream', chunks: ['a', 'b', 'c'], chunkDelayMs: 200 });
      const seen: string[] = [];
      for await (const delta of client.streamChat(TURN)) {
        seen.push(delta);
        break;
      }
      expect(seen).toEqual(['a']);
      await expect.poll(() => fake.requests[0]?.aborted).toBe(true);
    });

    it('close() aborts running turns, refuses new ones and leaves no connection open', async () => {
      fake.enqueueReplies({ kind: 'hang' });
      const running = runTurn(client);
      await fake.waitForRequests(1);
      await client.close();
      expect((await running).error).toBeInstanceOf(TurnAbortedError);
      expect((await runTurn(client)).error).toBeInstanceOf(TurnAbortedError);
      await expect.poll(() => fake.openConnections()).toBe(0);
      await client.close();
    });

    it('close() releases keep-alive connections of finished turns', async () => {
      await runTurn(client);
      await runTurn(client);
      await client.close();
      await expect.poll(() => fake.openConnections()).toBe(0);
    });
  });
});
