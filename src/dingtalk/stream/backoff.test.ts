import { describe, expect, it } from 'vitest';

import { type BackoffPolicy, computeBackoffMs, STREAM_RECONNECT_POLICY } from './backoff.js';

const NO_JITTER: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitterRatio: 0 };
const always = (value: number) => () => value;

describe('computeBackoffMs', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_600],
    [6, 3_200],
    [7, 5_000],
    [8, 5_000],
    [50, 5_000],
  ])('failure %i waits %i ms without jitter', (failures, expected) => {
    expect(computeBackoffMs(NO_JITTER, failures, always(0.5))).toBe(expected);
  });

  it('uses the policy factor', () => {
    const policy: BackoffPolicy = { ...NO_JITTER, factor: 3, maxDelayMs: 100_000 };
    expect([1, 2, 3, 4].map((n) => computeBackoffMs(policy, n, always(0)))).toEqual([100, 300, 900, 2_700]);
  });

  it.each([
    // [random, failures, expected]: base 1000 * 2^(n-1), capped at 60 000, minus up to 20 %.
    [0, 1, 1_000],
    [0.5, 1, 900],
    [0.999, 1, 800],
    [0, 4, 8_000],
    [0.5, 4, 7_200],
    [0.999, 4, 6_402],
    [0, 10, 60_000],
    [0.5, 10, 54_000],
    [0.999, 10, 48_012],
  ])('default policy, random %f, failure %i → %i ms', (random, failures, expected) => {
    expect(computeBackoffMs(STREAM_RECONNECT_POLICY, failures, always(random))).toBe(expected);
  });

  it('the default policy is 1 s doubling to 60 s with 20 % jitter', () => {
    expect(STREAM_RECONNECT_POLICY).toEqual({
      initialDelayMs: 1_000,
      maxDelayMs: 60_000,
      factor: 2,
      jitterRatio: 0.2,
    });
  });

  it('keeps every jittered delay within [base·(1 − jitterRatio), base] for the Nth attempt', () => {
    const policy: BackoffPolicy = { initialDelayMs: 250, maxDelayMs: 30_000, factor: 2, jitterRatio: 0.5 };
    for (let failures = 1; failures <= 12; failures += 1) {
      const base = Math.min(30_000, 250 * 2 ** (failures - 1));
      for (const random of [0, 0.001, 0.25, 0.5, 0.75, 0.999]) {
        const delay = computeBackoffMs(policy, failures, always(random));
        expect(delay, `failures ${failures}, random ${random}`).toBeGreaterThanOrEqual(
          Math.floor(base * 0.5),
        );
        expect(delay, `failures ${failures}, random ${random}`).toBeLessThanOrEqual(base);
      }
    }
  });

  it('calls random once per delay', () => {
    let calls = 0;
    computeBackoffMs(STREAM_RECONNECT_POLICY, 3, () => {
      calls += 1;
      return 0.3;
    });
    expect(calls).toBe(1);
  });

  it.each([1.5, 7, -0.5, -3])('clamps an out-of-range random value %f into [0, 1]', (random) => {
    const delay = computeBackoffMs(withJitter(0.2), 2, always(random));
    expect(delay).toBeGreaterThanOrEqual(160);
    expect(delay).toBeLessThanOrEqual(200);
  });

  it.each([31, 64, 1_000, 1_000_000, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY])(
    'never overflows for failure %d: capped, finite, not negative',
    (failures) => {
      for (const random of [0, 0.5, 0.999]) {
        const delay = computeBackoffMs(STREAM_RECONNECT_POLICY, failures, always(random));
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(48_000);
        expect(delay).toBeLessThanOrEqual(60_000);
      }
    },
  );

  it('a huge factor still stays at the cap', () => {
    const policy: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 10_000, factor: 1e9, jitterRatio: 0 };
    expect(computeBackoffMs(policy, 40, always(0))).toBe(10_000);
  });

  it.each([0, -1, -100])('treats failure count %i like the first failure', (failures) => {
    expect(computeBackoffMs(NO_JITTER, failures, always(0))).toBe(100);
  });

  it('never returns a negative delay even with a jitter ratio above 1', () => {
    const policy: BackoffPolicy = { ...NO_JITTER, jitterRatio: 3 };
    expect(computeBackoffMs(policy, 3, always(0.999))).toBe(0);
  });

  it('returns whole milliseconds', () => {
    const policy: BackoffPolicy = { initialDelayMs: 333, maxDelayMs: 10_000, factor: 1.5, jitterRatio: 0.3 };
    for (let failures = 1; failures <= 10; failures += 1) {
      expect(Number.isInteger(computeBackoffMs(policy, failures, always(0.37)))).toBe(true);
    }
  });
});

function withJitter(jitterRatio: number): BackoffPolicy {
  return { ...NO_JITTER, jitterRatio };
}
