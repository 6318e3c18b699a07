import { type BackoffPolicy, computeBackoffMs } from '../dingtalk/stream/backoff.js';
import { sleepMs } from './sleep.js';

export interface RetryOptions {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly policy: BackoffPolicy;
  /** Decides whether a failure is worth another try. */
  readonly isRetryable: (error: unknown) => boolean;
  readonly signal?: AbortSignal;
  /** Called before each wait, e.g. to log. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly random?: () => number;
}

/** Runs `operation` until it succeeds, fails permanently, or the attempts are used up. */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
      const delayMs = computeBackoffMs(options.policy, attempt, options.random ?? Math.random);
      options.onRetry?.(error, attempt, delayMs);
      await sleepMs(delayMs, options.signal);
    }
  }
}
