/**
 * A set of at most `capacity` keys that forgets the oldest one when full. For remembering facts that
 * never become false again (a session was answered, a webhook expired), so a forgotten key only
 * costs finding the fact out once more.
 */
export class RecentKeys {
  readonly #capacity: number;
  // A Set iterates in insertion order: the first key is the oldest.
  readonly #keys = new Set<string>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#keys.size;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      const [oldest] = this.#keys;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
  }
}
