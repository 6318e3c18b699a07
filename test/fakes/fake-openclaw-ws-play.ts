/**
 * How one scripted run plays out as the real gateway streams it: status and lifecycle `agent`
 * events, `thinking`, text as `chat` deltas, tool calls (the `tool` stream only to the sender with
 * the `tool-events` cap), announced media, then `final` (or two `chat` `error` events), the reply
 * written to the transcript and the media listed as artifacts a moment later.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { FakeOpenClawWsState } from './fake-openclaw-ws-state.js';
import { DEFAULT_AGENT_ID, type FakeRun, type FakeToolStep, type Json } from './fake-openclaw-ws-types.js';

/**
 * The real gateway lists a run's artifacts only once its transcript is written, a moment after the
 * `final` event (`artifacts.list` right after `final` returned `[]` in the contract test).
 */
const ARTIFACT_LISTING_DELAY_MS = 80;

/** The event writers of one run. */
interface RunEmitter {
  /** An `agent` event on `stream`; `toSenderOnly` for the `tool` stream. */
  readonly agent: (stream: string, data: Json, toSenderOnly?: boolean) => void;
  readonly chat: (state: string, extra: Json) => void;
  /** The assistant message so far, as `chat` events carry it. */
  readonly snapshot: () => Json;
  /** Streams `pieces` as text deltas; false once the run stopped. */
  readonly stream: (pieces: readonly string[]) => Promise<boolean>;
}

/** Plays `run` to its end (or until it is aborted). @internal */
export async function playRun(state: FakeOpenClawWsState, run: FakeRun): Promise<void> {
  const { script } = run;
  const emit = runEmitter(state, run);
  const { agent, chat } = emit;
  for (const phase of ['preparing_workspace', 'preparing_context'] as const) {
    run.seq += 1;
    chat('status', { phase });
    agent('run_status', { phase });
  }
  agent('lifecycle', { phase: 'start', startedAt: run.startedAt });
  chat('status', { phase: 'starting_model' });
  agent('lifecycle', { phase: 'model', provider: 'fake', model: 'fake-model' });
  if (script.thinking !== undefined) agent('thinking', { text: script.thinking, delta: script.thinking });
  if (script.preamble !== undefined) {
    if (!(await emit.stream([script.preamble]))) return;
    agent('item', {
      kind: 'preamble',
      title: 'Preamble',
      phase: 'end',
      progressText: script.preamble,
      itemId: `commentary-0-${run.runId}`,
    });
  }
  for (const [index, tool] of (script.tools ?? []).entries()) playTool(emit, tool, index);
  const separator = script.preamble !== undefined ? '\n\n' : '';
  const chunks = script.chunks ?? ['fake answer'];
  const pieces = chunks.map((piece, index) => (index === 0 ? separator + piece : piece));
  if (!(await emit.stream(pieces))) return;
  const media = script.media ?? [];
  if (media.length > 0) {
    // As for `MEDIA:` lines: announced on the assistant stream with the gateway-host paths.
    agent('assistant', {
      text: run.text,
      delta: '',
      mediaUrls: media.map((file) => `/srv/openclaw/workspace/${file.fileName}`),
      itemId: `${run.runId}:1`,
    });
  }
  if (script.hang === true) {
    await new Promise<void>((resolve) => {
      run.stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return;
  }
  if (run.state !== 'running') return;
  agent('usage', { outputTokens: Math.ceil(run.text.length / 4) });
  if (script.error !== undefined) failRun(state, run, emit, script.error);
  else completeRun(state, run, emit);
}

function runEmitter(state: FakeOpenClawWsState, run: FakeRun): RunEmitter {
  const agent = (stream: string, data: Json, toSenderOnly = false): void => {
    run.seq += 1;
    const payload = {
      runId: run.runId,
      stream,
      data,
      sessionKey: run.sessionKey,
      agentId: DEFAULT_AGENT_ID,
      seq: run.seq,
      ts: Date.now(),
      isHeartbeat: false,
    };
    if (toSenderOnly) {
      const sender = state.connections.get(run.senderId);
      if (sender?.isAuthenticated === true && sender.caps.includes('tool-events'))
        state.event(sender, 'agent', payload);
    } else {
      state.broadcast('agent', payload);
    }
  };
  const chat = (chatState: string, extra: Json): void => {
    state.broadcast('chat', {
      runId: run.runId,
      sessionKey: run.sessionKey,
      agentId: DEFAULT_AGENT_ID,
      seq: run.seq,
      state: chatState,
      ...extra,
    });
  };
  const snapshot = (): Json => ({
    role: 'assistant',
    content: [{ type: 'text', text: run.text }],
    timestamp: Date.now(),
  });
  const stream = async (pieces: readonly string[]): Promise<boolean> => {
    for (const piece of pieces) {
      if ((run.script.chunkDelayMs ?? 0) > 0) {
        try {
          await sleep(run.script.chunkDelayMs, undefined, { signal: run.stop.signal });
        } catch {
          return false;
        }
      }
      if (run.state !== 'running') return false;
      run.text += piece;
      agent('assistant', { text: run.text, delta: piece, itemId: `${run.runId}:1` });
      chat('delta', { deltaText: piece, message: snapshot() });
    }
    return true;
  };
  return { agent, chat, snapshot, stream };
}

function playTool({ agent }: RunEmitter, tool: FakeToolStep, index: number): void {
  const toolCallId = `call_fake_${index}`;
  const item = {
    itemId: `tool:${toolCallId}`,
    toolCallId,
    name: tool.name,
    kind: 'tool',
    title: tool.title ?? tool.name,
    meta: tool.title ?? tool.name,
    commandBearing: false,
  };
  agent('item', { ...item, phase: 'start', status: 'running', startedAt: Date.now() });
  agent('tool', { phase: 'start', name: tool.name, toolCallId, args: tool.args ?? {} }, true);
  agent(
    'tool',
    {
      phase: 'result',
      name: tool.name,
      toolCallId,
      meta: item.meta,
      isError: tool.isError === true,
      commandBearing: false,
      result: {
        content: [{ type: 'text', text: tool.result }],
        details: { kind: 'text', content: tool.result },
      },
    },
    true,
  );
  agent('item', {
    ...item,
    phase: 'end',
    status: tool.isError === true ? 'failed' : 'completed',
    endedAt: Date.now(),
  });
  agent('lifecycle', { phase: 'model', provider: 'fake', model: 'fake-model' });
}

function failRun(state: FakeOpenClawWsState, run: FakeRun, { agent, chat }: RunEmitter, error: string): void {
  run.state = 'error';
  agent('lifecycle', { phase: 'error', error, aborted: false, executionSettled: true });
  chat('error', {
    errorMessage: error,
    errorDetail: { provider: 'fake', model: 'fake-model', failoverReason: 'server_error' },
  });
  state.broadcast('chat', {
    runId: run.runId,
    sessionKey: run.sessionKey,
    seq: 1,
    state: 'error',
    errorMessage: `⚠️ Agent failed before reply: ${error}`,
  });
}

function completeRun(state: FakeOpenClawWsState, run: FakeRun, { agent, chat, snapshot }: RunEmitter): void {
  const media = run.script.media ?? [];
  agent('lifecycle', { phase: 'finishing', stopReason: 'stop', aborted: false, livenessState: 'working' });
  run.state = 'final';
  state.appendTranscript(run.sessionKey, {
    ...snapshot(),
    stopReason: 'stop',
    __openclaw: { runId: run.runId, id: randomUUID() },
  });
  const registerArtifacts = (): void => {
    for (const file of media) {
      const artifactId = `artifact_managed_media_${randomUUID()}`;
      state.artifacts.set(artifactId, {
        id: artifactId,
        runId: run.runId,
        sessionKey: run.sessionKey,
        ...file,
      });
    }
  };
  if (media.length > 0) setTimeout(registerArtifacts, ARTIFACT_LISTING_DELAY_MS).unref();
  agent('lifecycle', {
    stopReason: 'stop',
    aborted: false,
    phase: 'end',
    endedAt: Date.now(),
    startedAt: run.startedAt,
    terminalReply: { disposition: 'visible', text: run.text },
    executionSettled: true,
  });
  chat('final', { stopReason: 'stop', message: snapshot() });
}
