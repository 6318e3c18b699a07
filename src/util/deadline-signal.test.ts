import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { deadlineSignal } from './deadline-signal.js';

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
