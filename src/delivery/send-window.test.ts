import { describe, expect, it } from 'vitest';

import { SendWindow } from './send-window.js';

describe('SendWindow', () => {
  it('allows sends at once until the limit is reached', () => {
    const window = new SendWindow(2, 1_000);
    expect(window.delayMs(0)).toBe(0);
    window.record(0);
    expect(window.delayMs(10)).toBe(0);
    window.record(10);
    expect(window.delayMs(20)).toBe(980);
  });

  it('waits until the oldest send leaves the window', () => {
    const window = new SendWindow(2, 1_000);
    window.record(0);
    window.record(400);
    expect(window.delayMs(999)).toBe(1);
    expect(window.delayMs(1_000)).toBe(0);
    window.record(1_000);
    // Now 400 and 1000 are in the window: the next slot opens when 400 leaves.
    expect(window.delayMs(1_100)).toBe(300);
    expect(window.delayMs(1_400)).toBe(0);
  });

  it('computes the delay of the Nth send from the Nth-oldest send', () => {
    const window = new SendWindow(1, 100);
    let nowMs = 0;
    const delays: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const delayMs = window.delayMs(nowMs);
      delays.push(delayMs);
      nowMs += delayMs;
      window.record(nowMs);
      nowMs += 30;
    }
    expect(delays).toEqual([0, 70, 70, 70]);
  });

  it('tells how long until several sends fit at once', () => {
    const window = new SendWindow(3, 1_000);
    window.record(0);
    window.record(100);
    expect(window.delayMs(200, 1)).toBe(0);
    // Two more need the oldest send (0) to leave.
    expect(window.delayMs(200, 2)).toBe(800);
    // Three need both (0 and 100) to leave.
    expect(window.delayMs(200, 3)).toBe(900);
    // More than the window can ever hold: a whole window.
    expect(window.delayMs(200, 4)).toBe(1_000);
    expect(window.delayMs(1_100, 3)).toBe(0);
  });

  it('is idle only once every send left the window', () => {
    const window = new SendWindow(5, 100);
    expect(window.isIdle(0)).toBe(true);
    window.record(0);
    window.record(50);
    expect(window.isIdle(99)).toBe(false);
    expect(window.isIdle(100)).toBe(false);
    expect(window.isIdle(150)).toBe(true);
  });
});
