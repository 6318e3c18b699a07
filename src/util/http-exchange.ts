// One small HTTP request/answer, its body collected in memory up to a cap: a StreamedExchange read
// to its end, with a deadline and the caller's signal aborting the request directly (no abort
// controller per call).
import type { Dispatcher } from 'undici';

import { readBodyCapped } from './http-body.js';
import { StreamedExchange } from './http-stream-exchange.js';

/** The answer of {@link exchange}: its body read up to the cap. */
export interface CollectedAnswer {
  readonly statusCode: number;
  readonly bytes: Buffer;
  /** The body was longer than the cap: `bytes` holds what came before it, the request was aborted. */
  readonly isTruncated: boolean;
}

export interface ExchangeOptions {
  /** The most body bytes kept; past it the request is aborted and the answer marked truncated. */
  readonly maxBytes: number;
  /** Whole-exchange deadline; past it the call fails with a `TimeoutError` DOMException. */
  readonly timeoutMs: number;
  /** Aborts the exchange; the call fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The connection broke while the answer was arriving: the request had reached the server, so it
 * must not be sent again as if the connection had been stale.
 */
export class AnswerCutError extends Error {
  constructor(cause: unknown) {
    super('connection lost while reading the answer', { cause });
    this.name = 'AnswerCutError';
  }
}

/**
 * Sends `request` and collects the answer. Fails with undici's error when no answer came (the
 * caller may judge it stale, `stale-connection.ts`), with {@link AnswerCutError} when it broke off
 * after an answer had begun (an informational one included), or with the deadline's or the
 * signal's reason.
 */
export async function exchange(
  dispatcher: Dispatcher,
  request: Dispatcher.DispatchOptions,
  options: ExchangeOptions,
): Promise<CollectedAnswer> {
  const { signal } = options;
  if (signal?.aborted === true) throw toError(signal.reason);
  const answer = new StreamedExchange(dispatcher, request);
  let stopReason: Error | undefined;
  const stop = (reason: unknown): void => {
    stopReason ??= toError(reason);
    answer.abort(stopReason);
  };
  const onAbort = (): void => stop(signal?.reason);
  const timer = setTimeout(() => {
    stop(new DOMException(`timed out after ${options.timeoutMs} ms`, 'TimeoutError'));
  }, options.timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { statusCode } = await answer.head;
    const { bytes, isTruncated } = await readBodyCapped(answer, options.maxBytes);
    return { statusCode, bytes, isTruncated };
  } catch (error) {
    if (stopReason !== undefined) throw stopReason;
    throw answer.hasAnswerBegun ? new AnswerCutError(error) : error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
