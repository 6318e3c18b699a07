// One small HTTP request/answer through an undici dispatcher, with the answer's body collected in
// memory. Lighter than `request()` plus reading its body: no stream, no async iterator and no abort
// controller per call (the deadline and the caller's signal abort the request directly).
import type { Dispatcher } from 'undici';

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
 * The connection broke while the answer's body was arriving: the request had reached the server,
 * so it must not be sent again as if the connection had been stale.
 */
export class AnswerCutError extends Error {
  constructor(cause: unknown) {
    super('connection lost while reading the answer', { cause });
    this.name = 'AnswerCutError';
  }
}

/** Why a truncated exchange was aborted; never seen by callers. */
const BODY_TOO_LONG = new Error('answer body longer than the cap');

/**
 * Sends `request` and collects the answer. Fails with undici's error when no answer came (the
 * caller may judge it stale, `stale-connection.ts`), with {@link AnswerCutError} when it broke off
 * after an answer had begun (an informational one included), or with the deadline's or the
 * signal's reason.
 */
export function exchange(
  dispatcher: Dispatcher,
  request: Dispatcher.DispatchOptions,
  options: ExchangeOptions,
): Promise<CollectedAnswer> {
  const { signal } = options;
  if (signal?.aborted === true) return Promise.reject(toError(signal.reason));
  return new Promise<CollectedAnswer>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let abortReason: unknown;
    let isSettled = false;
    let statusCode = 0;
    // Any answer, an informational one included, means the request reached the server.
    let hasAnswer = false;
    let totalBytes = 0;
    const parts: Buffer[] = [];
    const abort = (reason: unknown): void => {
      if (abortReason !== undefined) return;
      abortReason = reason;
      controller?.abort(toError(reason));
    };
    const settle = (outcome: () => void): void => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (reason: unknown): void => {
      abort(reason);
      settle(() => reject(toError(reason)));
    };
    const onAbort = (): void => fail(signal?.reason);
    const timer = setTimeout(() => {
      fail(new DOMException(`timed out after ${options.timeoutMs} ms`, 'TimeoutError'));
    }, options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (abortReason !== undefined) started.abort(toError(abortReason));
      },
      onResponseStart(_controller, code) {
        hasAnswer = true;
        if (code < 200) return; // an informational answer; the real one follows
        statusCode = code;
      },
      onResponseData(_controller, chunk) {
        totalBytes += chunk.length;
        if (totalBytes > options.maxBytes) {
          settle(() => resolve({ statusCode, bytes: Buffer.concat(parts), isTruncated: true }));
          abort(BODY_TOO_LONG);
          return;
        }
        parts.push(chunk);
      },
      onResponseEnd() {
        settle(() => resolve({ statusCode, bytes: Buffer.concat(parts), isTruncated: false }));
      },
      onResponseError(_controller, error) {
        settle(() => reject(hasAnswer ? new AnswerCutError(error) : error));
      },
    };
    try {
      dispatcher.dispatch(request, handler);
    } catch (error) {
      settle(() => reject(toError(error)));
    }
  });
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
