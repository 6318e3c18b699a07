import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import { computeBackoffMs } from '../dingtalk/stream/backoff.js';
import { OpenClawHttpError, OpenClawTimeoutError, OpenClawUnavailableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AgentEvent, AgentTransport, AgentTurn } from '../openclaw/agent-transport.js';
import { isStaleConnection } from '../util/stale-connection.js';
import { sleepMs } from '../util/sleep.js';

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
 * Asks the agent, retrying with backoff only while nothing happened yet (after a first delta or a
 * tool call a retry could show the user two different beginnings or run a tool twice). Every
 * event is passed to `onEvent` as it arrives. Never throws except for an abort.
 */
export async function askAgent(
  transport: AgentTransport,
  turn: AgentTurn,
  options: AskOptions,
  log: Logger,
  onEvent?: (event: AgentEvent) => void,
): Promise<AgentAnswer> {
  for (let attempt = 1; ; attempt += 1) {
    let text = '';
    let hasEvents = false;
    try {
      for await (const event of transport.run(turn)) {
        hasEvents = true;
        if (event.type === 'text') text += event.delta;
        onEvent?.(event);
      }
      return { text, failure: undefined, tries: attempt };
    } catch (error) {
      if (turn.signal.aborted) throw error;
      if (hasEvents || attempt >= options.attempts || !isSafeToRetry(error)) {
        return { text, failure: error, tries: attempt };
      }
      const retryAfterMs = error instanceof OpenClawHttpError ? error.retryAfterMs : undefined;
      // A kept-alive connection OpenClaw had just closed: nothing reached it, ask again at once.
      const isStale =
        attempt === 1 && error instanceof OpenClawUnavailableError && isStaleConnection(error.cause);
      const delayMs = isStale
        ? 0
        : Math.min(
            retryAfterMs ?? computeBackoffMs(options.backoff, attempt, options.random ?? Math.random),
            options.backoff.maxDelayMs,
          );
      log.warn({ err: error, attempt, delayMs }, 'agent turn failed before streaming; asking again');
      await sleepMs(delayMs, turn.signal);
    }
  }
}
