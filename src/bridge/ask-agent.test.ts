import { createServer } from 'node:net';

import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FAKE_OPENCLAW_TOKEN, FakeOpenClaw, type FakeOpenClawReply } from '../../test/fakes/fake-openclaw.js';
import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import {
  OpenClawHttpError,
  OpenClawStreamError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../errors.js';
import type { AgentTurn } from '../openclaw/agent-transport.js';
import { OpenClawChatClient, TurnAbortedError } from '../openclaw/chat-client.js';
import { HttpAgentTransport } from '../openclaw/http-transport.js';
import { askAgent, type AskOptions } from './ask-agent.js';

const BACKOFF: BackoffPolicy = { initialDelayMs: 2, maxDelayMs: 50, factor: 2, jitterRatio: 0 };
const OPTIONS: AskOptions = { attempts: 3, backoff: BACKOFF, random: () => 0 };
const TURN: Omit<AgentTurn, 'signal'> = {
  sessionKey: 'dingtalk:dm:user001',
  agentId: 'main',
  messages: [{ role: 'user', content: 'hi' }],
  idempotencyKey: 'robot:msg-1',
};
const BAD_GATEWAY: FakeOpenClawReply = {
  kind: 'raw',
  status: 502,
  contentType: 'text/html',
  body: '<html><body>502 Bad Gateway</body></html>',
};

interface RetryLog {
  readonly attempt: number;
  readonly delayMs: number;
}

let fake: FakeOpenClaw;
let clients: OpenClawChatClient[];
let retries: RetryLog[];
let log: Logger;

function client(options: { baseUrl?: string; token?: string; timeoutMs?: number } = {}): HttpAgentTransport {
  const created = new OpenClawChatClient({
    baseUrl: options.baseUrl ?? fake.baseUrl,
    token: options.token ?? FAKE_OPENCLAW_TOKEN,
    timeoutMs: options.timeoutMs ?? 5_000,
    connectTimeoutMs: 1_000,
  });
  clients.push(created);
  return new HttpAgentTransport(created);
}

function turn(signal: AbortSignal = new AbortController().signal): AgentTurn {
  return { ...TURN, signal };
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

beforeEach(async () => {
  fake = await FakeOpenClaw.start();
  clients = [];
  retries = [];
  log = pino(
    { level: 'warn' },
    {
      write(line: string): void {
        const entry = JSON.parse(line) as Partial<RetryLog>;
        if (entry.attempt !== undefined && entry.delayMs !== undefined) {
          retries.push({ attempt: entry.attempt, delayMs: entry.delayMs });
        }
      },
    },
  );
});

afterEach(async () => {
  for (const created of clients) await created.close();
  await fake.close();
});

describe('askAgent', () => {
  it('returns the whole answer after one try', async () => {
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer).toEqual({ text: 'echo: hi', failure: undefined, tries: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  it('asks again after an HTML 502 before streaming', async () => {
    fake.enqueueReplies(BAD_GATEWAY);
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer).toEqual({ text: 'echo: hi', failure: undefined, tries: 2 });
    expect(fake.requests).toHaveLength(2);
    expect(retries).toEqual([{ attempt: 1, delayMs: 2 }]);
  });

  it('asks again after the connection was destroyed before any byte', async () => {
    fake.enqueueReplies({ kind: 'destroy' });
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer).toEqual({ text: 'echo: hi', failure: undefined, tries: 2 });
    expect(fake.requests).toHaveLength(2);
  });

  it('grows the delay per try and returns the last failure when OpenClaw stays unreachable', async () => {
    const port = await closedPort();
    const answer = await askAgent(
      client({ baseUrl: `http://127.0.0.1:${port}` }),
      turn(),
      { ...OPTIONS, attempts: 4 },
      log,
    );
    expect(answer.tries).toBe(4);
    expect(answer.text).toBe('');
    expect(answer.failure).toBeInstanceOf(OpenClawUnavailableError);
    expect(retries).toEqual([
      { attempt: 1, delayMs: 2 },
      { attempt: 2, delayMs: 4 },
      { attempt: 3, delayMs: 8 },
    ]);
  });

  it('gives up after the configured attempts of 503', async () => {
    fake.setHandler(() => ({
      kind: 'json',
      status: 503,
      body: { error: { message: 'busy', type: 'api_error' } },
    }));
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer.tries).toBe(OPTIONS.attempts);
    expect(answer.failure).toBeInstanceOf(OpenClawHttpError);
    expect(answer.failure).toMatchObject({ status: 503 });
    expect(fake.requests).toHaveLength(OPTIONS.attempts);
  });

  it('never asks again once a delta was streamed', async () => {
    fake.enqueueReplies({ kind: 'stream', chunks: ['partial ', 'rest'], cutAfterChunks: 1 });
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer.text).toBe('partial ');
    expect(answer.tries).toBe(1);
    expect(answer.failure).toBeInstanceOf(OpenClawStreamError);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not ask again after a timeout', async () => {
    fake.enqueueReplies({ kind: 'hang' });
    const answer = await askAgent(client({ timeoutMs: 50 }), turn(), OPTIONS, log);
    expect(answer.tries).toBe(1);
    expect(answer.failure).toBeInstanceOf(OpenClawTimeoutError);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not ask again after a 401', async () => {
    const answer = await askAgent(client({ token: 'wrong-token' }), turn(), OPTIONS, log);
    expect(answer.tries).toBe(1);
    expect(answer.failure).toMatchObject({ status: 401 });
    expect(fake.requests).toHaveLength(1);
  });

  it('does not ask again after a 400', async () => {
    fake.enqueueReplies({ kind: 'json', status: 400, body: { error: { message: 'bad', type: 'x' } } });
    const answer = await askAgent(client(), turn(), OPTIONS, log);
    expect(answer.tries).toBe(1);
    expect(answer.failure).toMatchObject({ status: 400 });
  });

  it('waits for Retry-After instead of the backoff, capped at the maximum delay', async () => {
    fake.enqueueReplies({
      kind: 'json',
      status: 429,
      body: { error: { message: 'slow down', type: 'rate_limit' } },
      headers: { 'retry-after': '1' },
    });
    const answer = await askAgent(
      client(),
      turn(),
      { ...OPTIONS, backoff: { ...BACKOFF, maxDelayMs: 80 } },
      log,
    );
    expect(answer).toEqual({ text: 'echo: hi', failure: undefined, tries: 2 });
    expect(retries).toEqual([{ attempt: 1, delayMs: 80 }]);
    const [first, second] = fake.requests;
    expect(second!.receivedAtMs - first!.receivedAtMs).toBeGreaterThanOrEqual(70);
    expect(second!.receivedAtMs - first!.receivedAtMs).toBeLessThan(900);
  });

  it('waits for a short Retry-After below the maximum delay', async () => {
    fake.enqueueReplies({
      kind: 'json',
      status: 503,
      body: { error: { message: 'restarting', type: 'api_error' } },
      headers: { 'retry-after': '0' },
    });
    const answer = await askAgent(
      client(),
      turn(),
      { ...OPTIONS, backoff: { ...BACKOFF, initialDelayMs: 40 } },
      log,
    );
    expect(answer.tries).toBe(2);
    expect(retries).toEqual([{ attempt: 1, delayMs: 0 }]);
  });

  it('throws when aborted during a turn', async () => {
    fake.enqueueReplies({ kind: 'hang' });
    const controller = new AbortController();
    const asking = askAgent(client(), turn(controller.signal), OPTIONS, log);
    await fake.waitForRequests(1);
    controller.abort(new Error('shutdown'));
    await expect(asking).rejects.toBeInstanceOf(TurnAbortedError);
    expect(fake.requests).toHaveLength(1);
  });

  it('throws when aborted while waiting to ask again', async () => {
    fake.enqueueReplies(BAD_GATEWAY);
    const controller = new AbortController();
    const asking = askAgent(
      client(),
      turn(controller.signal),
      { ...OPTIONS, backoff: { ...BACKOFF, initialDelayMs: 10_000, maxDelayMs: 10_000 } },
      log,
    );
    await vi.waitFor(() => expect(retries).toHaveLength(1));
    controller.abort(new Error('shutdown'));
    await expect(asking).rejects.toThrow(new Error('shutdown'));
    expect(fake.requests).toHaveLength(1);
  });
});
