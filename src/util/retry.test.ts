import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import { withRetries } from './retry.js';

const POLICY: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, jitterRatio: 0 };

class Retryable extends Error {}
class Permanent extends Error {}

const isRetryable = (error: unknown) => error instanceof Retryable;

/** An operation that fails with the given errors in order, then answers `value`. */
function script(errors: readonly Error[], value = 'ok') {
  const calls: number[] = [];
  const operation = (attempt: number): Promise<string> => {
    calls.push(attempt);
    const error = errors[attempt - 1];
    return error === undefined ? Promise.resolve(value) : Promise.reject(error);
  };
  return { operation, calls };
}

describe('withRetries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the first success without waiting', async () => {
    const { operation, calls } = script([]);
    await expect(withRetries(operation, { attempts: 3, policy: POLICY, isRetryable })).resolves.toBe('ok');
    expect(calls).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries retryable failures with growing delays, then succeeds', async () => {
    const { operation, calls } = script([new Retryable('a'), new Retryable('b'), new Retryable('c')]);
    const onRetry = vi.fn<(error: unknown, attempt: number, delayMs: number) => void>();
    const result = withRetries(operation, { attempts: 5, policy: POLICY, isRetryable, onRetry });
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(400);
    await expect(result).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(
      onRetry.mock.calls.map(([error, attempt, delayMs]) => [(error as Error).message, attempt, delayMs]),
    ).toEqual([
      ['a', 1, 100],
      ['b', 2, 200],
      ['c', 3, 400],
    ]);
  });

  it('stops at once on a non-retryable failure', async () => {
    const permanent = new Permanent('no');
    const { operation, calls } = script([new Retryable('a'), permanent]);
    const result = withRetries(operation, { attempts: 5, policy: POLICY, isRetryable });
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled).toBe(permanent);
    expect(calls).toEqual([1, 2]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up after the attempts and throws the last error', async () => {
    const last = new Retryable('third');
    const { operation, calls } = script([
      new Retryable('first'),
      new Retryable('second'),
      last,
      new Retryable('never'),
    ]);
    const onRetry = vi.fn();
    const result = withRetries(operation, { attempts: 3, policy: POLICY, isRetryable, onRetry });
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await settled).toBe(last);
    expect(calls).toEqual([1, 2, 3]);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('attempts: 1 never retries', async () => {
    const failure = new Retryable('once');
    const { operation, calls } = script([failure]);
    await expect(withRetries(operation, { attempts: 1, policy: POLICY, isRetryable })).rejects.toBe(failure);
    expect(calls).toEqual([1]);
  });

  it('passes the error to isRetryable', async () => {
    const failure = new Retryable('x');
    const seen: unknown[] = [];
    const { operation } = script([failure]);
    const result = withRetries(operation, {
      attempts: 2,
      policy: POLICY,
      isRetryable: (error) => {
        seen.push(error);
        return true;
      },
    });
    await vi.advanceTimersByTimeAsync(100);
    await result;
    expect(seen).toEqual([failure]);
  });

  it('uses the injected random for jitter', async () => {
    const { operation } = script([new Retryable('a'), new Retryable('b')]);
    const delays: number[] = [];
    const result = withRetries(operation, {
      attempts: 3,
      policy: { ...POLICY, jitterRatio: 0.5 },
      isRetryable,
      random: () => 0.999,
      onRetry: (_error, _attempt, delayMs) => delays.push(delayMs),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    await result;
    expect(delays).toEqual([50, 100]);
  });

  it('an abort during the wait rejects with the abort reason and makes no further attempt', async () => {
    const controller = new AbortController();
    const { operation, calls } = script([new Retryable('a'), new Retryable('b')]);
    const result = withRetries(operation, {
      attempts: 5,
      policy: POLICY,
      isRetryable,
      signal: controller.signal,
    });
    const reason = new Error('shutdown');
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    controller.abort(reason);
    expect(await settled).toBe(reason);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an abort before a retry is due stops instead of waiting', async () => {
    const reason = new Error('already stopped');
    const { operation, calls } = script([new Retryable('a')]);
    await expect(
      withRetries(operation, { attempts: 5, policy: POLICY, isRetryable, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(calls).toEqual([1]);
  });
});
