/**
 * Runs tasks one at a time per key, in submission order; different keys run concurrently. Used so
 * that the messages of one conversation are answered in order.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #depths = new Map<string, number>();
  #running = 0;
  readonly #idleWaiters: (() => void)[] = [];

  /** Tasks queued or running for `key`. */
  depth(key: string): number {
    return this.#depths.get(key) ?? 0;
  }

  /** Tasks queued or running over all keys. */
  get size(): number {
    return this.#running;
  }

  /** Keys with work: one task of each is running, the rest of `size` wait behind them. */
  get activeKeys(): number {
    return this.#depths.size;
  }

  /** Queues `task` behind the earlier tasks of `key`. A task's failure does not stop the next one. */
  push(key: string, task: () => Promise<void>): void {
    this.#running += 1;
    this.#depths.set(key, this.depth(key) + 1);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch(() => undefined)
      .finally(() => this.#settle(key, next));
    this.#tails.set(key, next);
  }

  /** Resolves when no task runs or waits. */
  onIdle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #settle(key: string, settled: Promise<void>): void {
    this.#running -= 1;
    const depth = this.depth(key) - 1;
    if (depth === 0) this.#depths.delete(key);
    else this.#depths.set(key, depth);
    if (this.#tails.get(key) === settled) this.#tails.delete(key);
    if (this.#running === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
