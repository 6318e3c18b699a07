import { describe, expect, it } from 'vitest';

import { MemoryDedupeStore } from './dedupe.js';

const TTL_MS = 600_000;

describe('MemoryDedupeStore', () => {
  it('claims a new key once; a second claim is a duplicate', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    expect(store.claim('robot:a', 0)).toBe(true);
    expect(store.claim('robot:a', 1)).toBe(false);
    expect(store.claim('robot:b', 1)).toBe(true);
    expect(store.size).toBe(2);
  });

  it('keys are compared exactly', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    expect(store.claim('robot:abc==', 0)).toBe(true);
    expect(store.claim('robot:ABC==', 0)).toBe(true);
    expect(store.claim('other:abc==', 0)).toBe(true);
  });

  it('an in-flight key never expires', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    store.claim('robot:slow', 0);
    // Sweeps run on claim; keep other traffic flowing long past many TTLs.
    for (let step = 1; step <= 10; step += 1) {
      const nowMs = step * TTL_MS * 10;
      store.claim(`robot:other-${step}`, nowMs);
      store.complete(`robot:other-${step}`, nowMs);
    }
    expect(store.claim('robot:slow', 1_000 * TTL_MS)).toBe(false);
  });

  it.each([
    ['right after completion', 5_000, false],
    ['one ms before the TTL ends', 5_000 + TTL_MS - 1, false],
    ['one ms after the TTL ended', 5_000 + TTL_MS + 1, true],
    ['long after', 5_000 + 100 * TTL_MS, true],
  ])('a completed key, claimed again %s, is new: %s', (_name, nowMs, isNew) => {
    const store = new MemoryDedupeStore(TTL_MS);
    store.claim('robot:m', 0);
    store.complete('robot:m', 5_000);
    expect(store.claim('robot:m', nowMs)).toBe(isNew);
  });

  it('the TTL counts from completion, not from the claim', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    store.claim('robot:m', 0);
    store.complete('robot:m', 3 * TTL_MS);
    expect(store.claim('robot:m', 3 * TTL_MS + TTL_MS / 2)).toBe(false);
  });

  it('a re-claimed key that is in flight again is not dropped by its older expiry', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    store.claim('robot:m', 0);
    store.complete('robot:m', 0);
    expect(store.claim('robot:m', TTL_MS + 1)).toBe(true);
    // The first completion record is swept now; the key must stay claimed (in flight).
    expect(store.claim('robot:x', 2 * TTL_MS)).toBe(true);
    expect(store.claim('robot:m', 10 * TTL_MS)).toBe(false);
  });

  it('completing a key twice keeps the later expiry', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    store.claim('robot:m', 0);
    store.complete('robot:m', 0);
    store.complete('robot:m', TTL_MS);
    expect(store.claim('robot:m', TTL_MS + 10)).toBe(false);
    expect(store.claim('robot:m', 2 * TTL_MS + 10)).toBe(true);
  });

  it('sweeps expired entries, so size shrinks back', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    for (let index = 0; index < 5; index += 1) {
      store.claim(`robot:${index}`, index);
      store.complete(`robot:${index}`, index);
    }
    expect(store.size).toBe(5);
    store.claim('robot:new', 2 + TTL_MS);
    // Entries 0, 1 and 2 expired (expiry ≤ now); 3 and 4 remain, plus the new claim.
    expect(store.size).toBe(3);
  });

  it('handles many entries: expired ones are forgotten, live and in-flight ones kept', () => {
    const store = new MemoryDedupeStore(TTL_MS);
    const count = 20_000;
    for (let index = 0; index < count; index += 1) {
      store.claim(`robot:old-${index}`, index);
      store.complete(`robot:old-${index}`, index);
    }
    store.claim('robot:in-flight', 0);
    expect(store.size).toBe(count + 1);

    const later = count + TTL_MS;
    for (let index = 0; index < count; index += 1) {
      store.claim(`robot:new-${index}`, later + index);
      store.complete(`robot:new-${index}`, later + index);
    }
    expect(store.size).toBe(count + 1);
    expect(store.claim('robot:old-0', later + count)).toBe(true);
    expect(store.claim(`robot:old-${count - 1}`, later + count)).toBe(true);
    expect(store.claim('robot:new-0', later + count)).toBe(false);
    expect(store.claim(`robot:new-${count - 1}`, later + count)).toBe(false);
    expect(store.claim('robot:in-flight', later + count)).toBe(false);

    // And the store keeps working after its internal list was compacted.
    const muchLater = later + count + 2 * TTL_MS;
    expect(store.claim('robot:new-0', muchLater)).toBe(true);
    expect(store.size).toBe(4);
  });

  it('the sweep stays fast with many entries', () => {
    const store = new MemoryDedupeStore(1);
    const started = performance.now();
    for (let index = 0; index < 100_000; index += 1) {
      store.claim(`k${index}`, index);
      store.complete(`k${index}`, index);
    }
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.size).toBeLessThanOrEqual(3);
  });
});
