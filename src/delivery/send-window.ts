/**
 * Sliding window of event times (sends of one conversation, messages of one sender). Pure
 * bookkeeping: the caller asks how long to wait before the next event and records events.
 */
export class SendWindow {
  readonly #limitPerWindow: number;
  readonly #windowMs: number;
  readonly #sentAtMs: number[] = [];

  constructor(limitPerWindow: number, windowMs: number) {
    this.#limitPerWindow = limitPerWindow;
    this.#windowMs = windowMs;
  }

  /** Milliseconds until `count` more sends are allowed (0 = now); a whole window when `count` exceeds the limit. */
  delayMs(nowMs: number, count = 1): number {
    this.#forget(nowMs);
    const excess = this.#sentAtMs.length + count - this.#limitPerWindow;
    if (excess <= 0) return 0;
    if (count > this.#limitPerWindow) return this.#windowMs;
    const freedAtMs = (this.#sentAtMs[excess - 1] ?? nowMs) + this.#windowMs;
    return Math.max(0, freedAtMs - nowMs);
  }

  record(nowMs: number): void {
    this.#sentAtMs.push(nowMs);
  }

  /** Takes back the newest recorded send (it did not happen after all). */
  undoLast(): void {
    this.#sentAtMs.pop();
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
