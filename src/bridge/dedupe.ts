/**
 * Remembers which messages (`robotCode:msgId`) were accepted: while they are in flight, and for
 * `ttlMs` after they finished, so a redelivery (which DingTalk sends with a new frame id but the
 * same msgId) is recognised.
 */
export interface DedupeStore {
  /** True when the key was new and is now claimed; false for a duplicate. */
  claim(key: string, nowMs: number): boolean;
  /** The message finished; it stays remembered until `nowMs + ttlMs`. */
  complete(key: string, nowMs: number): void;
  readonly size: number;
}

/** In-process {@link DedupeStore}. Expired entries are swept lazily, oldest first. */
export class MemoryDedupeStore implements DedupeStore {
  readonly #ttlMs: number;
  /** key → expiry; `Infinity` while in flight. Map order = insertion order, used for sweeping. */
  readonly #entries = new Map<string, number>();
  /** Completed keys in completion order, for an O(1) amortized sweep. */
  readonly #completed: { key: string; expiresAtMs: number }[] = [];
  #sweepIndex = 0;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  claim(key: string, nowMs: number): boolean {
    this.#sweep(nowMs);
    if (this.#entries.has(key)) return false;
    this.#entries.set(key, Number.POSITIVE_INFINITY);
    return true;
  }

  complete(key: string, nowMs: number): void {
    const expiresAtMs = nowMs + this.#ttlMs;
    this.#entries.set(key, expiresAtMs);
    this.#completed.push({ key, expiresAtMs });
  }

  #sweep(nowMs: number): void {
    while (this.#sweepIndex < this.#completed.length) {
      const entry = this.#completed[this.#sweepIndex];
      if (entry === undefined || entry.expiresAtMs > nowMs) break;
      if (this.#entries.get(entry.key) === entry.expiresAtMs) this.#entries.delete(entry.key);
      this.#sweepIndex += 1;
    }
    if (this.#sweepIndex > 1024 && this.#sweepIndex * 2 > this.#completed.length) {
      this.#completed.splice(0, this.#sweepIndex);
      this.#sweepIndex = 0;
    }
  }
}
