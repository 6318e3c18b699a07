/** Racing a promise against an abort signal, for waits that cannot take a signal themselves. */

/**
 * `promise`, or `toError(signal.reason)` once `signal` aborts first (by default the reason itself
 * when it is an `Error`, else an `Error('aborted')`). The promise keeps running. A non-`Error`
 * rejection of `promise` is wrapped in an `Error`.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  toError: (reason: unknown) => Error = reasonError,
): Promise<T> {
  if (signal.aborted) return Promise.reject(toError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(toError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** An aborted signal's reason as an `Error`: the reason itself when it is one, else `Error('aborted')`. */
export function reasonError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error('aborted');
}
