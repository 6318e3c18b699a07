import { describe, expect, it } from 'vitest';

import { SenderRateLimiter } from './sender-rate-limit.js';

function setUp(messages: number, windowMs: number): { limit: SenderRateLimiter; clock: { nowMs: number } } {
  const clock = { nowMs: 1_000_000 };
  return { limit: new SenderRateLimiter({ messages, windowMs, now: () => clock.nowMs }), clock };
}

describe('SenderRateLimiter', () => {
  it('allows `messages` per sliding window per sender, then refuses, flagging the first refusal', () => {
    const { limit, clock } = setUp(3, 1_000);
    const decisions = Array.from({ length: 5 }, () => {
      clock.nowMs += 10;
      return limit.take('alice');
    });
    expect(decisions).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
      { allowed: false, isFirstRefusal: true },
      { allowed: false, isFirstRefusal: false },
    ]);
    // Another sender is not affected.
    expect(limit.take('bob')).toEqual({ allowed: true });
    // The oldest message leaves the window 1 s after it was taken; refusals did not count.
    clock.nowMs = 1_000_010 + 1_000;
    expect(limit.take('alice')).toEqual({ allowed: true });
    expect(limit.take('alice')).toEqual({ allowed: false, isFirstRefusal: true });
  });

  it('counts a burst at once, and a released slot (a redelivery) is free again', () => {
    const { limit } = setUp(2, 1_000);
    expect([limit.take('carol'), limit.take('carol'), limit.take('carol')].map((d) => d.allowed)).toEqual([
      true,
      true,
      false,
    ]);
    limit.release('carol');
    expect(limit.take('carol').allowed).toBe(true);
  });

  it('never limits with messages 0', () => {
    const { limit } = setUp(0, 1_000);
    const allowed = Array.from({ length: 1_000 }, () => limit.take('alice').allowed);
    expect(allowed.every(Boolean)).toBe(true);
    expect(limit.size).toBe(0);
  });

  it('forgets idle senders once per window, so memory follows the active senders only', () => {
    const { limit, clock } = setUp(2, 1_000);
    for (let index = 0; index < 500; index++) limit.take(`sender-${index}`);
    expect(limit.size).toBe(500);
    clock.nowMs += 2_000;
    limit.take('late');
    expect(limit.size).toBe(1);
  });
});
