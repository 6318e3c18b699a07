/**
 * The fake gateway's run methods: `chat.send` (idempotency keys, a run registered before its script
 * is asked for), `chat.abort`, `chat.history` with `inFlightRun`, `agent.wait` and `sessions.reset`.
 * How a run plays out is in `fake-openclaw-ws-play.ts`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { playRun } from './fake-openclaw-ws-play.js';
import type { FakeOpenClawWsState } from './fake-openclaw-ws-state.js';
import {
  DEFAULT_AGENT_ID,
  canonicalKey,
  str,
  type FakeRun,
  type FakeSend,
  type FakeWsConnection,
  type Json,
} from './fake-openclaw-ws-types.js';

/** `agent.wait`'s own default when the request has no `timeoutMs`. */
const AGENT_WAIT_DEFAULT_TIMEOUT_MS = 30_000;

/** `chat.send`: starts a run (or reports the one its idempotencyKey already started). @internal */
export async function chatSend(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): Promise<void> {
  for (const key of ['sessionKey', 'idempotencyKey'] as const) {
    if (typeof params[key] !== 'string' || params[key] === '') {
      state.fail(
        connection,
        id,
        'INVALID_REQUEST',
        `invalid chat.send params: must have required property '${key}'`,
      );
      return;
    }
  }
  const sessionKey = canonicalKey(String(params['sessionKey']), params['agentId']);
  const idempotencyKey = String(params['idempotencyKey']);
  const existing = state.runs.get(idempotencyKey);
  const status = existing === undefined ? 'started' : existing.state === 'running' ? 'in_flight' : 'ok';
  const send: FakeSend = {
    connectionId: connection.id,
    params,
    sessionKey,
    message: typeof params['message'] === 'string' ? params['message'] : '',
    idempotencyKey,
    status,
  };
  state.sends.push(send);
  if (existing !== undefined) {
    state.send(connection, { type: 'res', id, ok: true, payload: { runId: existing.runId, status } });
    return;
  }
  const run = newRun(idempotencyKey, sessionKey, connection.id);
  // Registered before the handler runs, so that a concurrent resend finds it in flight.
  state.runs.set(run.runId, run);
  run.script = await state.handler(send);
  state.appendTranscript(sessionKey, {
    role: 'user',
    content: send.message,
    timestamp: Date.now(),
    idempotencyKey: `${idempotencyKey}:user`,
    __openclaw: { idempotencyKey: `${idempotencyKey}:user` },
  });
  if (state.dropSendAnswers > 0) {
    state.dropSendAnswers -= 1;
    connection.socket.terminate();
  } else {
    state.send(connection, { type: 'res', id, ok: true, payload: { runId: run.runId, status: 'started' } });
  }
  void playRun(state, run).finally(() => {
    run.markDone();
  });
}

function newRun(runId: string, sessionKey: string, senderId: string): FakeRun {
  let markDone = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  return {
    runId,
    sessionKey,
    senderId,
    script: {},
    state: 'running',
    text: '',
    seq: 0,
    startedAt: Date.now(),
    stop: new AbortController(),
    done,
    markDone,
  };
}

/** `chat.abort`: aborts the session's running runs (or the one `runId` names). @internal */
export function chatAbort(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): void {
  const runId = typeof params['runId'] === 'string' ? params['runId'] : undefined;
  const sessionKey = canonicalKey(str(params['sessionKey']), params['agentId']);
  const targets = [...state.runs.values()].filter(
    (run) =>
      run.state === 'running' &&
      run.sessionKey === sessionKey &&
      (runId === undefined || run.runId === runId),
  );
  for (const run of targets) {
    run.state = 'aborted';
    run.stop.abort();
    state.broadcast('chat', {
      runId: run.runId,
      sessionKey: run.sessionKey,
      agentId: DEFAULT_AGENT_ID,
      seq: run.seq + 1,
      state: 'aborted',
      stopReason: 'rpc',
      message: { role: 'assistant', content: [{ type: 'text', text: run.text }], timestamp: Date.now() },
    });
    run.seq += 2;
    state.broadcast('agent', {
      runId: run.runId,
      sessionKey: run.sessionKey,
      agentId: DEFAULT_AGENT_ID,
      stream: 'lifecycle',
      data: { phase: 'end', status: 'cancelled', aborted: true, stopReason: 'rpc' },
      seq: run.seq,
      ts: Date.now(),
      isHeartbeat: false,
    });
  }
  state.send(connection, {
    type: 'res',
    id,
    ok: true,
    payload: { ok: true, aborted: targets.length > 0, runIds: targets.map((run) => run.runId) },
  });
}

/** `chat.history`: the transcript, the active runs and the first one's text so far. @internal */
export function chatHistory(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): void {
  const sessionKey = canonicalKey(str(params['sessionKey']), params['agentId']);
  const active = [...state.runs.values()].filter(
    (run) => run.sessionKey === sessionKey && run.state === 'running',
  );
  const payload: Json = {
    sessionKey: params['sessionKey'],
    sessionId: `session-${sessionKey}`,
    messages: state.transcripts.get(sessionKey) ?? [],
    pendingInputs: { items: [], total: 0 },
    hasMore: false,
    sessionInfo: {
      key: sessionKey,
      hasActiveRun: active.length > 0,
      activeRunIds: active.map((run) => run.runId),
    },
  };
  const inFlight = active[0];
  if (inFlight !== undefined) {
    payload['inFlightRun'] = {
      runId: inFlight.runId,
      text: inFlight.text,
      startedAt: inFlight.startedAt,
      events: [],
    };
  }
  state.send(connection, { type: 'res', id, ok: true, payload });
}

/** `agent.wait`: waits up to `timeoutMs` for a running run, then reports its state. @internal */
export async function agentWait(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): Promise<void> {
  const run = state.runs.get(String(params['runId']));
  const timeoutMs =
    typeof params['timeoutMs'] === 'number' ? params['timeoutMs'] : AGENT_WAIT_DEFAULT_TIMEOUT_MS;
  if (run?.state === 'running') await Promise.race([run.done, sleep(timeoutMs)]);
  const runState = run?.state;
  const status =
    runState === undefined
      ? 'timeout'
      : runState === 'running'
        ? 'timeout'
        : runState === 'final'
          ? 'ok'
          : runState;
  const payload: Json = { runId: params['runId'], status };
  if (runState === 'final') payload['terminalReply'] = { disposition: 'visible', text: run?.text };
  if (runState === 'error') payload['error'] = run?.script.error;
  state.send(connection, { type: 'res', id, ok: true, payload });
}

/** `sessions.reset`: the transcript starts over with a reset marker. @internal */
export function sessionsReset(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): void {
  const key = canonicalKey(str(params['key']));
  state.transcripts.set(key, [
    {
      role: 'system',
      content: [{ type: 'text', text: 'Reset' }],
      timestamp: Date.now(),
      __openclaw: { kind: 'reset', id: randomUUID().slice(0, 8) },
    },
  ]);
  state.send(connection, {
    type: 'res',
    id,
    ok: true,
    payload: { ok: true, key, entry: { sessionId: randomUUID(), updatedAt: Date.now() } },
  });
}
