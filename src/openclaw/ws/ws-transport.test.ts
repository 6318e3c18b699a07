import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import {
  FAKE_OPENCLAW_WS_TOKEN,
  FakeOpenClawWs,
  type FakeOpenClawWsOptions,
} from '../../../test/fakes/fake-openclaw-ws.js';
import { OpenClawAuthError, OpenClawTimeoutError, OpenClawUnavailableError } from '../../errors.js';
import type { AgentEvent, AgentTurn, AgentTurnSummary } from '../agent-transport.js';
import { OpenClawTurnStreamError, TurnAbortedError } from '../chat-turn-errors.js';
import { ChatAbortResult } from './frames.js';
import { WsAgentTransport, type WsAgentTransportOptions } from './ws-transport.js';
import { deriveWsUrl, isLoopbackUrl } from './ws-url.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
const cleanups: (() => Promise<unknown> | undefined)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeGateway(options: FakeOpenClawWsOptions = {}): Promise<FakeOpenClawWs> {
  const fake = await FakeOpenClawWs.start(options);
  cleanups.push(() => fake.close());
  return fake;
}

function transportFor(
  fake: FakeOpenClawWs,
  overrides: Partial<WsAgentTransportOptions> = {},
): WsAgentTransport {
  const transport = new WsAgentTransport({
    url: fake.wsUrl,
    httpBaseUrl: fake.baseUrl,
    token: FAKE_OPENCLAW_WS_TOKEN,
    timeoutMs: 5_000,
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
    maxArtifactBytes: 1024 * 1024,
    clientVersion: '0.0.0-test',
    reconnectPolicy: { initialDelayMs: 20, maxDelayMs: 100, factor: 2, jitterRatio: 0 },
    ...overrides,
  });
  cleanups.push(() => transport.close());
  return transport;
}

function turnOf(overrides: Partial<AgentTurn> = {}): AgentTurn {
  return {
    sessionKey: 'dingtalk:default:dm:User1',
    agentId: 'main',
    messages: [{ role: 'user', content: 'hello' }],
    idempotencyKey: `msg-${randomUUID()}`,
    signal: new AbortController().signal,
    ...overrides,
  };
}

interface Outcome {
  readonly events: AgentEvent[];
  readonly summary?: AgentTurnSummary;
  readonly error?: unknown;
}

/** Runs a turn to its end; `onEvent` sees each event as it arrives. */
async function runTurn(
  transport: WsAgentTransport,
  turn: AgentTurn,
  onEvent?: (event: AgentEvent, index: number) => void,
): Promise<Outcome> {
  const events: AgentEvent[] = [];
  const generator = transport.run(turn);
  try {
    for (;;) {
      const next = await generator.next();
      if (next.done === true) return { events, summary: next.value };
      events.push(next.value);
      onEvent?.(next.value, events.length - 1);
    }
  } catch (error) {
    return { events, error };
  }
}

function textOf(events: readonly AgentEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.delta : '')).join('');
}

describe('WsAgentTransport against the fake gateway', () => {
  it('sends chat.send with the qualified session key and streams the reply as text deltas', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['Hel', 'lo ', '世界'] }));
    const transport = transportFor(fake);
    const turn = turnOf();

    const outcome = await runTurn(transport, turn);

    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual([
      { type: 'text', delta: 'Hel' },
      { type: 'text', delta: 'lo ' },
      { type: 'text', delta: '世界' },
    ]);
    expect(outcome.summary).toEqual({ finishReason: 'stop' });
    expect(fake.sends).toHaveLength(1);
    expect(fake.sends[0]?.params).toEqual({
      sessionKey: 'agent:main:dingtalk:default:dm:User1',
      agentId: 'main',
      message: 'hello',
      idempotencyKey: turn.idempotencyKey,
      suppressCommandInterpretation: true,
    });
    const connect = fake.requestsOf('connect')[0]?.params;
    expect(connect).toMatchObject({
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: 'gateway-client', mode: 'backend', version: '0.0.0-test' },
      role: 'operator',
      scopes: ['operator.read', 'operator.write', 'operator.admin'],
      caps: ['tool-events'],
      auth: { token: FAKE_OPENCLAW_WS_TOKEN },
    });
    expect(connect).not.toHaveProperty('device');
  });

  it('reports tool status and results in order, keeping the text written before the tool', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({
      preamble: 'Let me look.',
      tools: [
        { name: 'read', title: 'Read from /data/a.txt', args: { path: '/data/a.txt' }, result: 'file text' },
      ],
      chunks: ['Done.'],
    }));
    const transport = transportFor(fake);

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.events).toEqual([
      { type: 'text', delta: 'Let me look.' },
      { type: 'tool', phase: 'start', name: 'read', title: 'Read from /data/a.txt', isError: false },
      { type: 'tool-result', name: 'read', text: 'file text', isError: false },
      { type: 'tool', phase: 'end', name: 'read', title: 'Read from /data/a.txt', isError: false },
      { type: 'text', delta: '\n\nDone.' },
    ]);
  });

  it('marks a failed tool', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({
      tools: [{ name: 'exec', result: 'exit 1', isError: true }],
      chunks: ['It failed.'],
    }));
    const transport = transportFor(fake);

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.events.filter((event) => event.type !== 'text')).toEqual([
      { type: 'tool', phase: 'start', name: 'exec', title: 'exec', isError: false },
      { type: 'tool-result', name: 'exec', text: 'exit 1', isError: true },
      { type: 'tool', phase: 'end', name: 'exec', title: 'exec', isError: true },
    ]);
  });

  it('passes the thinking level and yields reasoning as thinking events', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ thinking: 'Let me think.', chunks: ['42'] }));
    const transport = transportFor(fake);

    const outcome = await runTurn(transport, turnOf({ thinking: 'high' }));

    expect(fake.sends[0]?.params['thinking']).toBe('high');
    expect(outcome.events).toEqual([
      { type: 'thinking', delta: 'Let me think.' },
      { type: 'text', delta: '42' },
    ]);
  });

  it('sends pictures as attachments and leaves system messages out', async () => {
    const fake = await fakeGateway();
    const transport = transportFor(fake);
    const image = `data:image/png;base64,${PNG.toString('base64')}`;

    await runTurn(
      transport,
      turnOf({
        messages: [
          { role: 'system', content: 'Use [DING:…] tags.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: image } },
            ],
          },
        ],
      }),
    );

    expect(fake.sends[0]?.params['message']).toBe('what is this?');
    expect(fake.sends[0]?.params['attachments']).toEqual([
      { type: 'image', mimeType: 'image/png', fileName: 'image-1.png', content: PNG.toString('base64') },
    ]);
  });

  it('serves concurrent turns over one connection, each with only its own events', async () => {
    const fake = await fakeGateway();
    fake.onSend((send) => ({ chunks: [`answer to ${send.message}`, '!'], chunkDelayMs: 10 }));
    const transport = transportFor(fake);

    const outcomes = await Promise.all(
      ['a', 'b', 'c'].map((message) =>
        runTurn(
          transport,
          turnOf({
            sessionKey: `dingtalk:default:dm:${message}`,
            messages: [{ role: 'user', content: message }],
          }),
        ),
      ),
    );

    expect(outcomes.map((outcome) => textOf(outcome.events))).toEqual([
      'answer to a!',
      'answer to b!',
      'answer to c!',
    ]);
    expect(fake.authenticatedConnections).toBe(1);
  });

  it('starts one run per idempotencyKey: a resend while running follows it, a resend after it gets its reply', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['one ', 'reply'], chunkDelayMs: 30 }));
    const transport = transportFor(fake);
    const turn = turnOf();

    const [first, concurrent] = await Promise.all([runTurn(transport, turn), runTurn(transport, turn)]);
    const later = await runTurn(transport, turn);

    expect(fake.sends.map((send) => send.status)).toEqual(['started', 'in_flight', 'ok']);
    expect(textOf(first.events)).toBe('one reply');
    expect(textOf(concurrent.events)).toBe('one reply');
    expect(textOf(later.events)).toBe('one reply');
    expect(later.summary).toBeDefined();
    expect(
      fake.transcript(fake.sends[0]!.sessionKey).filter((message) => message['role'] === 'user'),
    ).toHaveLength(1);
  });

  it('leaves the run going when the chat.send answer is lost; the retry of the turn adopts it', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['adopted ', 'reply'], chunkDelayMs: 100 }));
    fake.dropNextSendAnswer();
    const transport = transportFor(fake);
    const turn = turnOf();

    const lost = await runTurn(transport, turn);
    const retried = await runTurn(transport, turn);

    expect(lost.error).toBeInstanceOf(OpenClawUnavailableError);
    expect(retried.error).toBeUndefined();
    expect(textOf(retried.events)).toBe('adopted reply');
    expect(fake.sends.map((send) => send.status)).toEqual(['started', 'in_flight']);
    expect(fake.requestsOf('chat.abort')).toHaveLength(0);
  });

  it('aborts the run with chat.abort when the caller aborts', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['partial'], hang: true }));
    const transport = transportFor(fake);
    const controller = new AbortController();
    const turn = turnOf({ signal: controller.signal });

    const outcome = await runTurn(transport, turn, () => {
      controller.abort(new Error('/stop'));
    });

    expect(outcome.error).toBeInstanceOf(TurnAbortedError);
    expect(textOf(outcome.events)).toBe('partial');
    const abort = await fake.waitFor(() => fake.requestsOf('chat.abort')[0]);
    expect(abort.params).toEqual({
      sessionKey: 'agent:main:dingtalk:default:dm:User1',
      runId: turn.idempotencyKey,
    });
    expect(fake.runState(turn.idempotencyKey)).toBe('aborted');
  });

  it('aborts the run when the consumer stops reading early', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['first', 'second'], chunkDelayMs: 200 }));
    const transport = transportFor(fake);
    const turn = turnOf();

    for await (const event of transport.run(turn)) {
      expect(event).toEqual({ type: 'text', delta: 'first' });
      break;
    }

    expect(fake.requestsOf('chat.abort')).toHaveLength(1);
    expect(fake.runState(turn.idempotencyKey)).toBe('aborted');
  });

  it('times out after timeoutMs, aborting the run', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ hang: true }));
    const transport = transportFor(fake, { timeoutMs: 300 });
    const turn = turnOf();

    const outcome = await runTurn(transport, turn);

    expect(outcome.error).toBeInstanceOf(OpenClawTimeoutError);
    expect(fake.runState(turn.idempotencyKey)).toBe('aborted');
  });

  it('fails with a stream error when the run fails, and when someone else aborts it', async () => {
    const fake = await fakeGateway();
    fake.onSend((send) =>
      send.message === 'fail' ? { error: 'LLM request failed' } : { hang: true, chunks: ['so far'] },
    );
    const transport = transportFor(fake);
    const other = transportFor(fake);

    const failed = await runTurn(transport, turnOf({ messages: [{ role: 'user', content: 'fail' }] }));
    const stopped = runTurn(transport, turnOf({ sessionKey: 'dingtalk:default:dm:u2' }), () => {
      void other.connection
        .ready()
        .then(() =>
          other.connection.request(
            'chat.abort',
            { sessionKey: 'agent:main:dingtalk:default:dm:u2' },
            ChatAbortResult,
          ),
        )
        .catch(() => undefined);
    });

    expect(failed.error).toBeInstanceOf(OpenClawTurnStreamError);
    expect(failed.error).toMatchObject({
      kind: 'error-event',
      message: 'OpenClaw run failed: LLM request failed',
    });
    const interrupted = await stopped;
    expect(interrupted.error).toBeInstanceOf(OpenClawTurnStreamError);
    expect(interrupted.error).toMatchObject({ kind: 'incomplete', partialTextChars: 'so far'.length });
  });

  it('resets a session with sessions.reset, and says no when the admin scope is missing', async () => {
    const fake = await fakeGateway();
    const transport = transportFor(fake);
    await runTurn(transport, turnOf());

    expect(await transport.resetSession('dingtalk:default:dm:User1', 'main')).toBe(true);
    expect(fake.requestsOf('sessions.reset')[0]?.params).toEqual({
      key: 'agent:main:dingtalk:default:dm:User1',
      reason: 'reset',
    });
    expect(fake.transcript('agent:main:dingtalk:default:dm:user1').map((message) => message['role'])).toEqual(
      ['system'],
    );

    const limited = await fakeGateway({ grantScopes: ['operator.read', 'operator.write'] });
    expect(await transportFor(limited).resetSession('dingtalk:default:dm:User1', 'main')).toBe(false);
    expect(limited.requestsOf('sessions.reset')).toHaveLength(0);
  });

  it('reconnects after a dropped socket and resumes the run from chat.history without repeating text', async () => {
    const fake = await fakeGateway();
    const pieces = Array.from({ length: 8 }, (_, index) => `piece ${index + 1}. `);
    fake.onSend(() => ({ chunks: pieces, chunkDelayMs: 60 }));
    const transport = transportFor(fake);

    const outcome = await runTurn(transport, turnOf(), (_event, index) => {
      if (index === 1) fake.dropConnections();
    });

    expect(outcome.error).toBeUndefined();
    expect(textOf(outcome.events)).toBe(pieces.join(''));
    expect(fake.authenticatedConnections).toBe(2);
    expect(fake.requestsOf('chat.history').length).toBeGreaterThanOrEqual(1);
    expect(fake.sends).toHaveLength(1);
  });

  it('finishes a run that ended while disconnected from the transcript (agent.wait says ok)', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ chunks: ['a', 'b', 'c'], chunkDelayMs: 20 }));
    const transport = transportFor(fake, {
      reconnectPolicy: { initialDelayMs: 400, maxDelayMs: 400, factor: 1, jitterRatio: 0 },
    });
    const turn = turnOf();

    const outcome = await runTurn(transport, turn, (_event, index) => {
      if (index === 0) fake.dropConnections();
    });

    expect(outcome.error).toBeUndefined();
    expect(textOf(outcome.events)).toBe('abc');
    expect(fake.requestsOf('agent.wait')[0]?.params).toMatchObject({ runId: turn.idempotencyKey });
  });

  it('downloads the run artifacts after the final event', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({
      chunks: ['Here is the chart.'],
      media: [
        { fileName: 'chart.png', mimeType: 'image/png', bytes: PNG },
        { fileName: 'report.pdf', mimeType: 'application/pdf', bytes: Buffer.from('%PDF-1.4 fake') },
      ],
    }));
    const transport = transportFor(fake);
    const turn = turnOf();

    const outcome = await runTurn(transport, turn);

    expect(outcome.events.map((event) => event.type)).toEqual(['text', 'artifact', 'artifact']);
    expect(outcome.events.slice(1)).toEqual([
      { type: 'artifact', fileName: 'chart.png', contentType: 'image/png', bytes: PNG },
      {
        type: 'artifact',
        fileName: 'report.pdf',
        contentType: 'application/pdf',
        bytes: Buffer.from('%PDF-1.4 fake'),
      },
    ]);
    expect(fake.requestsOf('artifacts.list')[0]?.params).toEqual({
      sessionKey: 'agent:main:dingtalk:default:dm:User1',
      runId: turn.idempotencyKey,
      messageRole: 'assistant',
    });
  });

  it('skips an artifact over the size limit and still completes the turn', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({
      chunks: ['big file'],
      media: [{ fileName: 'big.bin', mimeType: 'application/zip', bytes: Buffer.alloc(2048) }],
    }));
    const transport = transportFor(fake, { maxArtifactBytes: 1024 });

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.error).toBeUndefined();
    expect(outcome.events.map((event) => event.type)).toEqual(['text']);
    expect(fake.requestsOf('artifacts.download')).toHaveLength(0);
  });

  it('fails with OpenClawAuthError on a wrong token, naming openclaw.token, and does not retry by itself', async () => {
    const fake = await fakeGateway();
    const transport = transportFor(fake, { token: 'wrong-token' });

    const outcome = await runTurn(transport, turnOf());
    await sleep(200);

    expect(outcome.error).toBeInstanceOf(OpenClawAuthError);
    expect(outcome.error).toMatchObject({ reason: 'AUTH_TOKEN_MISMATCH', retryable: false });
    expect((outcome.error as Error).message).toContain('check openclaw.token');
    expect((outcome.error as Error).message).not.toContain('wrong-token');
    expect(fake.requestsOf('connect')).toHaveLength(1);
    expect(fake.sends).toHaveLength(0);
  });

  it('reports a gateway that is still starting as unavailable, then connects on the next try', async () => {
    const fake = await fakeGateway({ refuseStartingConnects: 1 });
    const transport = transportFor(fake);

    const first = await runTurn(transport, turnOf());
    const second = await runTurn(transport, turnOf());

    expect(first.error).toBeInstanceOf(OpenClawUnavailableError);
    expect(second.error).toBeUndefined();
    expect(textOf(second.events)).toBe('fake answer');
  });

  it('reports an unreachable gateway as unavailable', async () => {
    const fake = await fakeGateway();
    const transport = transportFor(fake, { url: 'ws://127.0.0.1:1' });

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.error).toBeInstanceOf(OpenClawUnavailableError);
  });

  it('drops a silent connection after two tick intervals and reconnects', async () => {
    const fake = await fakeGateway({ tickIntervalMs: 100 });
    const transport = transportFor(fake);
    await runTurn(transport, turnOf());

    fake.freezeConnections();

    await fake.waitFor(() => (fake.authenticatedConnections >= 2 ? true : undefined), 3_000);
    // The fake counts the connection when it answers the handshake; the client opens on reading it.
    await expect.poll(() => transport.connection.state).toBe('open');
  });

  it('close() ends running turns and leaves no socket open', async () => {
    const fake = await fakeGateway();
    fake.onSend(() => ({ hang: true, chunks: ['…'] }));
    const transport = transportFor(fake);

    const running = runTurn(transport, turnOf(), () => {
      void transport.close();
    });

    expect((await running).error).toBeInstanceOf(TurnAbortedError);
    await fake.waitFor(() => (fake.openConnections === 0 ? true : undefined));
    expect((await runTurn(transport, turnOf())).error).toBeInstanceOf(TurnAbortedError);
  });
});

describe('WsAgentTransport off loopback: device identity and pairing', () => {
  function identityFile(): string {
    const dir = mkdtempSync(join(tmpdir(), 'ws-device-'));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    });
    return join(dir, 'state', 'openclaw-device.json');
  }

  it('asks for pairing, then connects once approved, keeping the device token for later connects', async () => {
    const fake = await fakeGateway({ locality: 'remote' });
    const file = identityFile();
    const transport = transportFor(fake, { deviceIdentityFile: file });

    const refused = await runTurn(transport, turnOf());
    expect(refused.error).toBeInstanceOf(OpenClawAuthError);
    const { pairingRequestId } = refused.error as OpenClawAuthError;
    expect(pairingRequestId).toBeDefined();
    expect((refused.error as Error).message).toContain(`openclaw devices approve ${pairingRequestId!}`);

    fake.approvePairing(pairingRequestId!);
    const accepted = await runTurn(transport, turnOf());
    expect(accepted.error).toBeUndefined();

    const stored = JSON.parse(readFileSync(file, 'utf8')) as { tokens: Record<string, { token: string }> };
    expect(Object.values(stored.tokens).map((entry) => entry.token)).toEqual([
      expect.stringMatching(/^devtok-/),
    ]);

    // A later process with the same identity file but no shared token connects with the device token.
    const tokenOnly = transportFor(fake, { deviceIdentityFile: file, token: undefined });
    expect((await runTurn(tokenOnly, turnOf())).error).toBeUndefined();
    const lastConnect = fake.requestsOf('connect').at(-1)?.params;
    expect(lastConnect?.['auth']).toEqual({ deviceToken: Object.values(stored.tokens)[0]?.token });
  });

  it('explains a connection whose scopes were cleared (off loopback without a device identity)', async () => {
    const fake = await fakeGateway({ locality: 'remote' });
    const transport = transportFor(fake);

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.error).toBeInstanceOf(OpenClawAuthError);
    expect(outcome.error).toMatchObject({ reason: 'MISSING_SCOPES' });
  });

  it('signs the connect proof so that the gateway accepts it on loopback too', async () => {
    const fake = await fakeGateway();
    const transport = transportFor(fake, { deviceIdentityFile: identityFile() });

    const outcome = await runTurn(transport, turnOf());

    expect(outcome.error).toBeUndefined();
    expect(fake.requestsOf('connect')[0]?.params).toHaveProperty('device.signature');
  });
});

describe('WebSocket URL helpers', () => {
  it('derives the WebSocket URL from the HTTP base URL', () => {
    expect(deriveWsUrl('http://127.0.0.1:18789')).toBe('ws://127.0.0.1:18789');
    expect(deriveWsUrl('https://openclaw.example.com/gw/')).toBe('wss://openclaw.example.com/gw');
  });

  it('recognises loopback hosts', () => {
    expect(isLoopbackUrl('ws://127.0.0.1:18789')).toBe(true);
    expect(isLoopbackUrl('ws://localhost:18789')).toBe(true);
    expect(isLoopbackUrl('ws://[::1]:18789')).toBe(true);
    expect(isLoopbackUrl('ws://host.docker.internal:18789')).toBe(false);
    expect(isLoopbackUrl('wss://10.0.0.5')).toBe(false);
  });
});
