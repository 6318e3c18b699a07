/**
 * Catching up with a run we lost sight of (after a reconnect, or a resend of the same
 * idempotencyKey): the text so far from `chat.history`'s `inFlightRun`; if the run is no longer
 * active, its end from `agent.wait` and its reply from the transcript.
 */
import type { AgentEvent } from '../agent-transport.js';
import type { OpenClawWsConnection } from './connection.js';
import { AgentWaitResult, ChatHistoryResult, HistoryMessage, messageText } from './frames.js';
import type { RunTracker } from './run-events.js';

/** `chat.history` messages read when resuming: the run's own messages are the newest. */
const HISTORY_LIMIT = 50;
/** How long `agent.wait` may wait when asked whether a run we lost sight of has ended. */
const AGENT_WAIT_PROBE_MS = 1_000;

/** What {@link resumeRun} works with. @internal */
export interface ResumeContext {
  readonly connection: OpenClawWsConnection;
  readonly sessionKey: string;
  readonly stop: AbortSignal;
  /** Deadline of one request's answer (the `agent.wait` probe gets its own wait on top). */
  readonly requestTimeoutMs: number;
}

/**
 * Brings `run` up to date and returns the events that produced. A run still queued behind another
 * keeps waiting for events (no events returned). Rejects like {@link OpenClawWsConnection.request}.
 * @internal
 */
export async function resumeRun(run: RunTracker, context: ResumeContext): Promise<AgentEvent[]> {
  const { connection, sessionKey, stop } = context;
  const history = await connection.request(
    'chat.history',
    { sessionKey, limit: HISTORY_LIMIT },
    ChatHistoryResult,
    { signal: stop },
  );
  if (history.inFlightRun?.runId === run.runId) return run.adoptText(history.inFlightRun.text ?? '');
  if (history.sessionInfo?.activeRunIds?.includes(run.runId) === true) return [];
  const waited = await connection.request(
    'agent.wait',
    { runId: run.runId, timeoutMs: AGENT_WAIT_PROBE_MS },
    AgentWaitResult,
    {
      signal: stop,
      timeoutMs: AGENT_WAIT_PROBE_MS + context.requestTimeoutMs,
    },
  );
  if (waited.status === 'ok') {
    const reply = replyFromHistory(history.messages, run.runId) ?? waited.terminalReply?.text;
    return run.finish({ kind: 'final', stopReason: undefined }, reply);
  }
  if (waited.status === 'error') {
    return run.finish({ kind: 'error', message: errorText(waited.error) }, undefined);
  }
  return [];
}

/** The run's visible reply as `final` shows it: its assistant texts, joined by blank lines. */
function replyFromHistory(messages: readonly unknown[], runId: string): string | undefined {
  const texts: string[] = [];
  for (const raw of messages) {
    const message = HistoryMessage.safeParse(raw);
    if (!message.success || message.data.role !== 'assistant' || message.data.__openclaw?.runId !== runId)
      continue;
    const text = messageText(message.data);
    if (text !== undefined && text !== '') texts.push(text);
  }
  return texts.length === 0 ? undefined : texts.join('\n\n');
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  return 'the run failed';
}
