/** A request's abort signal: a deadline and the caller's signal, without `AbortSignal.timeout()` and `.any()`. */

import { linkedSignal } from './linked-signal.js';

export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** Clears the timer and the listener on the parent; call when the request is over. */
  dispose(): void;
}

/**
 * A signal that aborts after `timeoutMs` (reason: a `TimeoutError` DOMException, as from
 * `AbortSignal.timeout`) or when `parent` aborts (its reason). Cheaper than
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])` on a hot path: one controller, one timer,
 * one listener, all released by `dispose`.
 */
export function deadlineSignal(timeoutMs: number, parent?: AbortSignal): DeadlineSignal {
  const linked = linkedSignal(parent === undefined ? [] : [parent]);
  if (linked.signal.aborted) return linked;
  const timer = setTimeout(() => {
    linked.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  return {
    signal: linked.signal,
    dispose: () => {
      clearTimeout(timer);
      linked.dispose();
    },
  };
}

/** Runs `work` under {@link deadlineSignal}`(timeoutMs, parent)` and releases it when `work` settles. */
export async function withDeadline<T>(
  timeoutMs: number,
  parent: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = deadlineSignal(timeoutMs, parent);
  try {
    return await work(deadline.signal);
  } finally {
    deadline.dispose();
  }
}
