/**
 * A set of at most `capacity` keys that forgets the least recently used one when full. For caching
 * facts that never become false again (a session was answered), so a forgotten key only costs a
 * lookup where it came from.
 */
export class RecentKeys {
  readonly #capacity: number;
  // A Set iterates in insertion order: re-adding a key on use keeps the least recent first.
  readonly #keys = new Set<string>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Whether `key` is held; a held key becomes the most recently used. */
  has(key: string): boolean {
    if (!this.#keys.delete(key)) return false;
    this.#keys.add(key);
    return true;
  }

  add(key: string): void {
    this.#keys.delete(key);
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.values().next();
      if (oldest.done !== true) this.#keys.delete(oldest.value);
    }
  }
}
