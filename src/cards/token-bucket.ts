/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `capacity`. Pure bookkeeping
 * with an injected clock; callers wait `delayMs` before spending.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #capacity: number;
  #tokens: number;
  #updatedAtMs: number;

  constructor(ratePerSecond: number, capacity: number, nowMs: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#capacity = capacity;
    this.#tokens = capacity;
    this.#updatedAtMs = nowMs;
  }

  /** Takes one token; returns how long the caller must wait before using it (0 = now). */
  take(nowMs: number): number {
    this.#refill(nowMs);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#ratePerMs);
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#updatedAtMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsedMs * this.#ratePerMs);
    this.#updatedAtMs = nowMs;
  }
}
