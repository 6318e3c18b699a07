import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { sleepMs } from './sleep.js';

describe('sleepMs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the delay, not before', async () => {
    let isDone = false;
    const sleeping = sleepMs(1_000).then(() => {
      isDone = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(isDone).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(isDone).toBe(true);
  });

  it('resolves with a signal that never aborts, and leaves no timer or listener behind', async () => {
    const controller = new AbortController();
    const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
    const sleeping = sleepMs(50, controller.signal);
    await vi.advanceTimersByTimeAsync(50);
    await expect(sleeping).resolves.toBeUndefined();
    expect(removeSpy).toHaveBeenCalledWith('abort', expect.any(Function));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the abort reason as soon as the signal aborts, and clears its timer', async () => {
    const controller = new AbortController();
    const sleeping = sleepMs(60_000, controller.signal);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal was already aborted', async () => {
    const reason = new Error('already stopped');
    await expect(sleepMs(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['a string', 'stop'],
    ['undefined (default DOMException is an Error)', undefined],
  ])('rejects with an Error when the abort reason is %s', async (_name, reason) => {
    const controller = new AbortController();
    const sleeping = sleepMs(1_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBeInstanceOf(Error);
  });

  it('a zero delay resolves on the next timer tick', async () => {
    const sleeping = sleepMs(0);
    await vi.advanceTimersByTimeAsync(0);
    await expect(sleeping).resolves.toBeUndefined();
  });
});
