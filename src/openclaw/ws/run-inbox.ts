/**
 * The queue between the connection's callbacks and one run's async generator: event frames of the
 * run, and connection changes, in arrival order.
 */
import type { OpenClawAuthError } from '../../errors.js';
import { reasonError } from '../../util/abortable.js';
import type { EventFrame } from './frames.js';

/** One thing a run reacts to. */
export type RunInboxItem =
  | { readonly kind: 'event'; readonly frame: EventFrame }
  | { readonly kind: 'lost' }
  | { readonly kind: 'reopened' }
  | { readonly kind: 'gave-up'; readonly error: OpenClawAuthError };

/** Unbounded FIFO with one waiting reader. */
export class RunInbox {
  readonly #items: RunInboxItem[] = [];
  #wake: (() => void) | undefined;

  push(item: RunInboxItem): void {
    this.#items.push(item);
    this.#wake?.();
  }

  /** The next item; rejects with the signal's reason once `signal` aborts (items left stay queued). */
  async next(signal: AbortSignal): Promise<RunInboxItem> {
    for (;;) {
      if (signal.aborted) throw reasonError(signal.reason);
      const item = this.#items.shift();
      if (item !== undefined) return item;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#wake = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
