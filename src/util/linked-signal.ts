/** A signal that follows several parent signals, released explicitly instead of by the garbage collector. */

export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Removes the listeners from the parents; call when the work the signal guards is over. */
  dispose(): void;
  /** Aborts the signal with `reason` itself (a deadline, say), and lets go of the parents. */
  abort(reason: unknown): void;
}

/**
 * Aborts, with the parent's reason, as soon as any of `parents` aborts (at once if one already has).
 *
 * A replacement for `AbortSignal.any()` on per-turn paths. Node keeps every signal it makes as a
 * WeakRef in each long-lived parent until a garbage collection clears it, so thousands of turns leave
 * thousands of WeakRefs and finalizer entries behind; here the listeners go with `dispose`.
 */
export function linkedSignal(parents: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const alreadyAborted = parents.find((parent) => parent.aborted);
  if (alreadyAborted !== undefined) {
    controller.abort(alreadyAborted.reason);
    return { signal: controller.signal, dispose: () => undefined, abort: () => undefined };
  }
  const listeners = parents.map((parent) => {
    const onAbort = (): void => {
      dispose();
      controller.abort(parent.reason);
    };
    parent.addEventListener('abort', onAbort, { once: true });
    return { parent, onAbort };
  });
  function dispose(): void {
    for (const { parent, onAbort } of listeners) parent.removeEventListener('abort', onAbort);
  }
  return {
    signal: controller.signal,
    dispose,
    abort: (reason) => {
      dispose();
      controller.abort(reason);
    },
  };
}
