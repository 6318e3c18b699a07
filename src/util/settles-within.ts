/** Waiting for a promise with a deadline, without cancelling it. */

/** `{ isDone: true, value }` when `promise` resolves within `timeoutMs`, else `{ isDone: false }`; a rejection passes through. */
export type Settled<T> = { readonly isDone: true; readonly value: T } | { readonly isDone: false };

/**
 * Waits for `promise` at most `timeoutMs`. The promise keeps running after a timeout (the caller
 * decides what to do about it); the timer is cleared either way.
 */
export async function settlesWithin<T>(promise: Promise<T>, timeoutMs: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ isDone: false }), timeoutMs);
  });
  try {
    return await Promise.race([promise.then((value) => ({ isDone: true as const, value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
