/**
 * Sliding window of send times for one conversation. Pure bookkeeping: the caller asks how long to
 * wait before the next send and records sends.
 */
export class SendWindow {
  readonly #limitPerWindow: number;
  readonly #windowMs: number;
  readonly #sentAtMs: number[] = [];

  constructor(limitPerWindow: number, windowMs: number) {
    this.#limitPerWindow = limitPerWindow;
    this.#windowMs = windowMs;
  }

  /** Milliseconds until a send is allowed (0 = now). */
  delayMs(nowMs: number): number {
    this.#forget(nowMs);
    if (this.#sentAtMs.length < this.#limitPerWindow) return 0;
    const oldest = this.#sentAtMs[0] ?? nowMs;
    return Math.max(0, oldest + this.#windowMs - nowMs);
  }

  record(nowMs: number): void {
    this.#sentAtMs.push(nowMs);
  }

  /** True when the window holds no send any more (the conversation's state can be dropped). */
  isIdle(nowMs: number): boolean {
    this.#forget(nowMs);
    return this.#sentAtMs.length === 0;
  }

  #forget(nowMs: number): void {
    while (this.#sentAtMs.length > 0 && (this.#sentAtMs[0] ?? 0) + this.#windowMs <= nowMs)
      this.#sentAtMs.shift();
  }
}
