import { setTimeout as sleep } from 'node:timers/promises';
import { getEventListeners } from 'node:events';

import { describe, expect, it } from 'vitest';

import { deadlineSignal, withDeadline } from './deadline-signal.js';

describe('deadlineSignal', () => {
  it('aborts with a TimeoutError once the deadline passes', async () => {
    const { signal } = deadlineSignal(20);
    expect(signal.aborted).toBe(false);
    await sleep(60);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it("aborts with the parent's reason when the parent aborts first, also beforehand", () => {
    const parent = new AbortController();
    const { signal } = deadlineSignal(10_000, parent.signal);
    parent.abort(new Error('caller gave up'));
    expect(signal.reason).toEqual(new Error('caller gave up'));
    const early = deadlineSignal(10_000, parent.signal);
    expect(early.signal.reason).toEqual(new Error('caller gave up'));
  });

  it('does nothing after dispose: no timeout, no parent abort', async () => {
    const parent = new AbortController();
    const deadline = deadlineSignal(20, parent.signal);
    deadline.dispose();
    await sleep(60);
    parent.abort();
    expect(deadline.signal.aborted).toBe(false);
  });
});

describe('withDeadline', () => {
  it('gives the work the deadline signal and lets go of the parent once the work settles', async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    await expect(
      withDeadline(60_000, parent.signal, (signal) => {
        seen = signal;
        expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
        return Promise.resolve('done');
      }),
    ).resolves.toBe('done');
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    await expect(
      withDeadline(60_000, parent.signal, () => Promise.reject(new Error('failed'))),
    ).rejects.toThrow('failed');
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    parent.abort();
    expect(seen?.aborted).toBe(false);
  });

  it('aborts the work at the deadline', async () => {
    const reason = await withDeadline(
      20,
      undefined,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
    );
    expect(reason).toMatchObject({ name: 'TimeoutError' });
  });
});
