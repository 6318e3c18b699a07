/** How often a streaming card may be updated. */
export interface CardBudgetPolicy {
  /** API calls one reply may cost, create and finish included. @defaultValue 6 */
  readonly maxCallsPerReply: number;
  /** Wait before the first content update. @defaultValue 1000 */
  readonly firstUpdateAfterMs: number;
  /** Each later interval is this many times the previous one. @defaultValue 2.5 */
  readonly intervalGrowth: number;
}

/**
 * Decides when a streaming card may show new text: the first update about `firstUpdateAfterMs`
 * after the card appeared, each later one after a longer pause (`intervalGrowth`), and never more
 * than the budget allows — two calls are always kept for creating and finishing the card. With
 * the defaults a 60-second reply costs at most 6 calls: create, updates at about 1 s, 3.5 s, 9.8 s
 * and 25 s, finish.
 */
export class CardUpdateBudget {
  readonly #policy: CardBudgetPolicy;
  #updates = 0;
  #nextAtMs: number;
  #intervalMs: number;

  constructor(policy: CardBudgetPolicy, createdAtMs: number) {
    this.#policy = policy;
    this.#intervalMs = policy.firstUpdateAfterMs;
    this.#nextAtMs = createdAtMs + policy.firstUpdateAfterMs;
  }

  /** Content updates this reply may still make. */
  get updatesLeft(): number {
    return Math.max(0, this.#policy.maxCallsPerReply - 2 - this.#updates);
  }

  /** When the next update may go out; undefined when the budget is spent. */
  nextUpdateAtMs(): number | undefined {
    return this.updatesLeft > 0 ? this.#nextAtMs : undefined;
  }

  /** Records an update made at `nowMs` and stretches the next interval. */
  recordUpdate(nowMs: number): void {
    this.#updates += 1;
    this.#intervalMs *= this.#policy.intervalGrowth;
    this.#nextAtMs = nowMs + this.#intervalMs;
  }
}
