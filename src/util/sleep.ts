import { reasonError } from './abortable.js';

/**
 * Waits `delayMs`; rejects with the signal's reason as soon as `signal` aborts, so shutdown never
 * waits for a backoff to run out.
 */
export function sleepMs(delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(reasonError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(reasonError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
