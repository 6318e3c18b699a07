import { SendWindow } from '../delivery/send-window.js';

/** What {@link SenderRateLimiter.take} decided for one message. */
export type RateDecision =
  | { readonly allowed: true }
  /** `isFirstRefusal`: the first refusal since the sender was last allowed (log it louder). */
  | { readonly allowed: false; readonly isFirstRefusal: boolean };

interface SenderWindow {
  /** Acceptance times inside the window (at most `messages` of them). */
  readonly window: SendWindow;
  isLimited: boolean;
}

export interface SenderRateLimiterOptions {
  /** Messages allowed per sender per window; 0 = no limit. */
  readonly messages: number;
  readonly windowMs: number;
  /** Wall clock in ms. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * Sliding-window flood limit per sender key: at most `messages` accepted messages in any
 * `windowMs`. Refused messages do not count, and the caller releases the slot of a redelivery (a
 * sender who keeps flooding is let through again as soon as their older messages leave the window). Memory is bounded by the active senders, each
 * holding at most `messages` timestamps; idle senders are dropped once per window.
 */
export class SenderRateLimiter {
  readonly #options: SenderRateLimiterOptions;
  readonly #now: () => number;
  readonly #senders = new Map<string, SenderWindow>();
  #lastSweepMs: number;

  constructor(options: SenderRateLimiterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#lastSweepMs = this.#now();
  }

  /** Senders currently tracked (for tests). */
  get size(): number {
    return this.#senders.size;
  }

  /**
   * Takes a slot for one message of `sender` when the window has room. The slot counts at once, so
   * a burst arriving together cannot slip past the limit; {@link release} gives it back when the
   * message turns out not to be new (a redelivery) or could not be recorded.
   */
  take(sender: string): RateDecision {
    const { messages, windowMs } = this.#options;
    if (messages <= 0) return { allowed: true };
    const nowMs = this.#now();
    this.#sweep(nowMs);
    let entry = this.#senders.get(sender);
    if (entry === undefined) {
      entry = { window: new SendWindow(messages, windowMs), isLimited: false };
      this.#senders.set(sender, entry);
    }
    if (entry.window.delayMs(nowMs) > 0) {
      const isFirstRefusal = !entry.isLimited;
      entry.isLimited = true;
      return { allowed: false, isFirstRefusal };
    }
    entry.window.record(nowMs);
    entry.isLimited = false;
    return { allowed: true };
  }

  /** Gives back the newest slot of `sender`. */
  release(sender: string): void {
    this.#senders.get(sender)?.window.undoLast();
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#lastSweepMs < this.#options.windowMs) return;
    this.#lastSweepMs = nowMs;
    for (const [sender, state] of this.#senders) if (state.window.isIdle(nowMs)) this.#senders.delete(sender);
  }
}
