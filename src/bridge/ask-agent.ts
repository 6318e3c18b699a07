import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import { computeBackoffMs } from '../dingtalk/stream/backoff.js';
import { OpenClawHttpError, OpenClawTimeoutError, OpenClawUnavailableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ChatTurnRequest, OpenClawChatClient } from '../openclaw/chat-client.js';
import { sleepMs } from '../util/sleep.js';

/** What the bridge needs from an agent backend: a stream of reply text deltas. */
export type AgentClient = Pick<OpenClawChatClient, 'streamChat'>;

/** The agent's answer: the text received, and the failure that ended it early, if any. */
export interface AgentAnswer {
  readonly text: string;
  readonly failure: unknown;
  /** Tries used (1 = no retry). */
  readonly tries: number;
}

export interface AskOptions {
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  readonly random?: () => number;
}

/**
 * True for failures after which asking again cannot duplicate anything: OpenClaw was unreachable
 * or answered 429/5xx before streaming. A timeout is final (the turn already took its whole budget).
 */
function isSafeToRetry(error: unknown): boolean {
  if (error instanceof OpenClawTimeoutError) return false;
  if (error instanceof OpenClawUnavailableError) return true;
  return error instanceof OpenClawHttpError && error.retryable;
}

/**
 * Asks the agent, retrying with backoff only while nothing was streamed yet (a retry after the
 * first delta could show the user two different beginnings). Never throws except for an abort.
 */
export async function askAgent(
  agent: AgentClient,
  request: ChatTurnRequest & { signal: AbortSignal },
  options: AskOptions,
  log: Logger,
): Promise<AgentAnswer> {
  for (let attempt = 1; ; attempt += 1) {
    let text = '';
    try {
      for await (const delta of agent.streamChat(request)) text += delta;
      return { text, failure: undefined, tries: attempt };
    } catch (error) {
      if (request.signal.aborted) throw error;
      if (text !== '' || attempt >= options.attempts || !isSafeToRetry(error)) {
        return { text, failure: error, tries: attempt };
      }
      const retryAfterMs = error instanceof OpenClawHttpError ? error.retryAfterMs : undefined;
      const delayMs = Math.min(
        retryAfterMs ?? computeBackoffMs(options.backoff, attempt, options.random ?? Math.random),
        options.backoff.maxDelayMs,
      );
      log.warn({ err: error, attempt, delayMs }, 'agent turn failed before streaming; asking again');
      await sleepMs(delayMs, request.signal);
    }
  }
}
