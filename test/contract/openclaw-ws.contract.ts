/**
 * Contract test of the WebSocket transport (src/openclaw/ws) against the REAL OpenClaw gateway (the
 * release pinned in openclaw-version.ts), with the fake model behind it. Run with
 * `npm run test:openclaw`.
 *
 * The transport's unit tests run against test/fakes/fake-openclaw-ws.ts, which imitates frames
 * captured from this gateway (test/fixtures/openclaw-ws, test/contract/capture-openclaw-ws.ts); this
 * file checks the transport itself against the real thing: a turn where the model calls a tool
 * yields tool status and result events, the device proof is accepted, a resend of the same message
 * starts no second run, `MEDIA:` files arrive as artifacts, abort and reset work.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { AgentEvent, AgentTurn } from '../../src/openclaw/agent-transport.js';
import { TurnAbortedError } from '../../src/openclaw/chat-turn-errors.js';
import { ChatHistoryResult } from '../../src/openclaw/ws/frames.js';
import { qualifiedSessionKey } from '../../src/openclaw/ws/turn-input.js';
import { WsAgentTransport } from '../../src/openclaw/ws/ws-transport.js';
import { deriveWsUrl } from '../../src/openclaw/ws/ws-url.js';
import { FakeModel, type ModelReply, type ModelRequest } from './fake-model.js';
import { OpenClawPeer } from './openclaw-peer.js';
import { OPENCLAW_VERSION } from './openclaw-version.js';

/** OpenClaw's first turn after start prepares the agent workspace: 10–30 s on a 2-vCPU VM. */
const TURN_TIMEOUT_MS = 90_000;
const FILE_TEXT = 'hello from a file read by the agent tool';
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

function marker(): string {
  return `ws-${randomBytes(4).toString('hex')}`;
}

function textOf(events: readonly AgentEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.delta : '')).join('');
}

describe(`the WebSocket transport against the real OpenClaw ${OPENCLAW_VERSION}`, () => {
  let model: FakeModel;
  let openclaw: OpenClawPeer;
  let transport: WsAgentTransport;
  let scratch: string;
  let helloPath: string;
  let picturePath: string;
  const cleanups: (() => Promise<unknown> | undefined)[] = [];

  function newTransport(deviceIdentityFile?: string): WsAgentTransport {
    const created = new WsAgentTransport({
      url: deriveWsUrl(openclaw.baseUrl),
      httpBaseUrl: openclaw.baseUrl,
      token: openclaw.token,
      timeoutMs: TURN_TIMEOUT_MS,
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxArtifactBytes: 1024 * 1024,
      clientVersion: '0.0.0-contract',
      deviceIdentityFile,
    });
    cleanups.push(() => created.close());
    return created;
  }

  function turnOf(text: string, overrides: Partial<AgentTurn> = {}): AgentTurn {
    return {
      sessionKey: `dingtalk:default:dm:${marker()}`,
      agentId: 'main',
      messages: [{ role: 'user', content: text }],
      idempotencyKey: `msg-${randomBytes(8).toString('hex')}`,
      signal: new AbortController().signal,
      ...overrides,
    };
  }

  async function collect(
    turn: AgentTurn,
    via: WsAgentTransport = transport,
    onEvent?: (event: AgentEvent) => void,
  ): Promise<{ events: AgentEvent[]; error: unknown }> {
    const events: AgentEvent[] = [];
    try {
      for await (const event of via.run(turn)) {
        events.push(event);
        onEvent?.(event);
      }
      return { events, error: undefined };
    } catch (error) {
      return { events, error };
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'openclaw-ws-contract-'));
    cleanups.push(() => {
      rmSync(scratch, { recursive: true, force: true });
      return undefined;
    });
    model = await FakeModel.start();
    cleanups.push(() => model.close());
    openclaw = await OpenClawPeer.start({ modelBaseUrl: model.baseUrl });
    cleanups.push(() => openclaw.stop());
    // Inside OpenClaw's workspace: non-image MEDIA: paths must be under its media roots.
    const workspace = join(openclaw.runDir, 'state', 'workspace');
    mkdirSync(workspace, { recursive: true });
    helloPath = join(workspace, 'hello.txt');
    writeFileSync(helloPath, `${FILE_TEXT}\n`);
    picturePath = join(workspace, 'chart.png');
    writeFileSync(picturePath, PNG);
    model.respond((request: ModelRequest): string | ModelReply | undefined => {
      const turn = request.turnText;
      if (turn.includes('#tool')) {
        // Call the tool once, then answer with what it returned.
        if (request.toolResults.length === 0) {
          return {
            text: 'Let me read the file.',
            toolCalls: [{ name: 'read', arguments: { path: helloPath } }],
          };
        }
        return `Tool said: ${request.toolResults[0]?.text.trim() ?? ''}`;
      }
      if (turn.includes('#media')) return `Here is the chart.\n\nMEDIA:${picturePath}`;
      if (turn.includes('#slow')) {
        return {
          text: Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join(''),
          pieceCount: 30,
          pieceDelayMs: 300,
        };
      }
      const found = /\bws-[0-9a-f]{8}\b/.exec(turn)?.[0];
      return found === undefined ? undefined : `answer to ${found}`;
    });
    transport = newTransport();
    // Right after /health answers, OpenClaw still refuses connects ("gateway starting", retryable).
    await vi.waitFor(() => transport.connection.ready(), { timeout: 60_000, interval: 500 });
  }, 120_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }, 60_000);

  it('reports tool status and the tool result for a turn in which the model calls a tool', async () => {
    const { events, error } = await collect(turnOf('please read the file #tool'));

    expect(error).toBeUndefined();
    const toolEvents = events.filter((event) => event.type === 'tool' || event.type === 'tool-result');
    expect(toolEvents).toEqual([
      {
        type: 'tool',
        phase: 'start',
        name: 'read',
        title: expect.stringContaining('hello.txt') as string,
        isError: false,
      },
      { type: 'tool-result', name: 'read', text: `${FILE_TEXT}\n`, isError: false },
      {
        type: 'tool',
        phase: 'end',
        name: 'read',
        title: expect.stringContaining('hello.txt') as string,
        isError: false,
      },
    ]);
    const firstTool = events.findIndex((event) => event.type === 'tool');
    expect(textOf(events.slice(0, firstTool))).toBe('Let me read the file.');
    expect(textOf(events)).toBe(`Let me read the file.\n\nTool said: ${FILE_TEXT}`);
  });

  it('starts one run per idempotencyKey: a resend gets the same reply without asking the model again', async () => {
    const tag = marker();
    const turn = turnOf(`hello ${tag}`);

    const first = await collect(turn);
    const again = await collect(turn);

    expect(textOf(first.events)).toBe(`answer to ${tag}`);
    expect(again.error).toBeUndefined();
    expect(textOf(again.events)).toBe(`answer to ${tag}`);
    expect(model.turnsMentioning(tag)).toHaveLength(1);
  });

  it("downloads the run's MEDIA: file as an artifact with identical bytes", async () => {
    const { events, error } = await collect(turnOf('send me the chart #media'));

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('Here is the chart.');
    expect(events.filter((event) => event.type === 'artifact')).toEqual([
      { type: 'artifact', fileName: 'chart.png', contentType: 'image/png', bytes: PNG },
    ]);
  });

  it('aborts the run with chat.abort when the caller aborts', async () => {
    const controller = new AbortController();
    const turn = turnOf('a long answer please #slow', { signal: controller.signal });

    const { events, error } = await collect(turn, transport, () => {
      controller.abort(new Error('/stop'));
    });

    expect(error).toBeInstanceOf(TurnAbortedError);
    expect(textOf(events)).toMatch(/^line 1/);
    // The run stopped in OpenClaw too (it would take 9 s to stream to its end).
    await vi.waitFor(
      async () => {
        const history = await transport.connection.request(
          'chat.history',
          { sessionKey: qualifiedSessionKey(turn.sessionKey, 'main'), limit: 5 },
          ChatHistoryResult,
        );
        expect(history.sessionInfo?.hasActiveRun).toBe(false);
      },
      { timeout: 5_000, interval: 200 },
    );
  });

  it('resets a session (sessions.reset): the next turn sees no history', async () => {
    const sessionKey = `dingtalk:default:dm:${marker()}`;
    const [before, after] = [marker(), marker()];
    await collect(turnOf(`remember ${before}`, { sessionKey }));

    expect(await transport.resetSession(sessionKey, 'main')).toBe(true);
    await collect(turnOf(`and now ${after}`, { sessionKey }));

    const [request] = model.turnsMentioning(after);
    expect(request?.historyText).not.toContain(before);
  });

  it('connects with a signed device identity (accepted by the gateway on loopback)', async () => {
    const withDevice = newTransport(join(scratch, 'state', 'openclaw-device.json'));
    const tag = marker();

    const { events, error } = await collect(turnOf(`hello ${tag}`), withDevice);

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe(`answer to ${tag}`);
  });
});
