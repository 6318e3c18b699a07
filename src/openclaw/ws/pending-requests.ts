/**
 * Correlates requests with their `res` frames by id: each request gets a fresh id, a deadline and an
 * optional abort signal, and settles exactly once (answer, error answer, timeout, abort, or the
 * connection going away).
 */
import { OpenClawRpcError, OpenClawUnavailableError } from '../../errors.js';
import { reasonError } from '../../util/abortable.js';
import type { ResponseFrame } from './frames.js';

interface Entry {
  readonly method: string;
  readonly resolve: (payload: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** A request registered with {@link PendingRequests.open}. */
export interface PendingRequest {
  readonly id: string;
  /** The answer's `payload`; rejects with {@link OpenClawRpcError} for `ok: false`. */
  readonly answer: Promise<unknown>;
}

/** The requests of one client that still wait for an answer. */
export class PendingRequests {
  readonly #prefix: string;
  readonly #entries = new Map<string, Entry>();
  #counter = 0;

  /** `prefix` starts every id, so ids of different clients differ in logs. */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Registers a request: its answer must come within `timeoutMs` (else it rejects with
   * {@link OpenClawUnavailableError}), and `signal` aborting rejects it with the signal's reason.
   */
  open(method: string, timeoutMs: number, signal?: AbortSignal): PendingRequest {
    this.#counter += 1;
    const id = `${this.#prefix}-${this.#counter}`;
    const answer = new Promise<unknown>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#entries.delete(id);
      };
      const onAbort = (): void => {
        cleanup();
        reject(reasonError(signal?.reason));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new OpenClawUnavailableError(new Error(`no answer to ${method} within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.#entries.set(id, {
        method,
        resolve: (payload) => {
          cleanup();
          resolve(payload);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      });
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return { id, answer };
  }

  /** Settles the request `frame` answers; false when no request waits for that id. */
  settle(frame: ResponseFrame): boolean {
    const entry = this.#entries.get(frame.id);
    if (entry === undefined) return false;
    if (frame.ok) {
      entry.resolve(frame.payload);
      return true;
    }
    entry.reject(rpcErrorOf(entry.method, frame));
    return true;
  }

  /** Rejects every waiting request with `error` (the connection closed). */
  rejectAll(error: Error): void {
    for (const entry of [...this.#entries.values()]) entry.reject(error);
  }
}

/** The typed error of a `res` frame with `ok: false`. */
export function rpcErrorOf(method: string, frame: ResponseFrame): OpenClawRpcError {
  const error = frame.error;
  const details = error?.details;
  const detailCode =
    typeof details === 'object' &&
    details !== null &&
    typeof (details as { code?: unknown }).code === 'string'
      ? (details as { code: string }).code
      : undefined;
  return new OpenClawRpcError({
    method,
    rpcCode: error?.code ?? 'UNKNOWN',
    message: error?.message ?? '',
    detailCode,
    retryable: error?.retryable,
    retryAfterMs: error?.retryAfterMs,
  });
}
