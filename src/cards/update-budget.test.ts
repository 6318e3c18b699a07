import { describe, expect, it } from 'vitest';

import { TokenBucket } from './token-bucket.js';
import { CardUpdateBudget } from './update-budget.js';

describe('CardUpdateBudget', () => {
  it('keeps a 60-second reply within 6 calls: 4 updates, stretching intervals', () => {
    const budget = new CardUpdateBudget(
      { maxCallsPerReply: 6, firstUpdateAfterMs: 1_000, intervalGrowth: 2.5 },
      0,
    );
    const times: number[] = [];
    for (let nowMs = 0; nowMs <= 60_000; nowMs += 100) {
      const next = budget.nextUpdateAtMs();
      if (next !== undefined && nowMs >= next) {
        times.push(nowMs);
        budget.recordUpdate(nowMs);
      }
    }
    expect(times).toEqual([1_000, 3_500, 9_800, 25_500]);
    expect(budget.updatesLeft).toBe(0);
    expect(budget.nextUpdateAtMs()).toBeUndefined();
  });

  it('leaves no update when the budget only covers create and finish', () => {
    const budget = new CardUpdateBudget({ maxCallsPerReply: 2, firstUpdateAfterMs: 1, intervalGrowth: 1 }, 0);
    expect(budget.nextUpdateAtMs()).toBeUndefined();
  });
});

describe('TokenBucket', () => {
  it('lets a burst of capacity through, then paces at the rate', () => {
    const bucket = new TokenBucket(20, 20, 0);
    const waits = Array.from({ length: 22 }, () => bucket.take(0));
    expect(waits.slice(0, 20).every((wait) => wait === 0)).toBe(true);
    expect(waits[20]).toBe(50);
    expect(waits[21]).toBe(100);
    expect(bucket.take(1_000)).toBe(0);
  });
});
