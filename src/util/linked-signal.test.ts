import { getEventListeners } from 'node:events';

import { describe, expect, it } from 'vitest';

import { linkedSignal } from './linked-signal.js';

describe('linkedSignal', () => {
  it('aborts with the reason of whichever parent aborts first, and only once', () => {
    const first = new AbortController();
    const second = new AbortController();
    const linked = linkedSignal([first.signal, second.signal]);
    expect(linked.signal.aborted).toBe(false);
    second.abort(new Error('second gave up'));
    first.abort(new Error('first gave up'));
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toEqual(new Error('second gave up'));
  });

  it('is aborted from the start when a parent already is', () => {
    const done = new AbortController();
    done.abort(new Error('over'));
    const linked = linkedSignal([new AbortController().signal, done.signal]);
    expect(linked.signal.reason).toEqual(new Error('over'));
  });

  it('leaves no listener on the parents once disposed or aborted', () => {
    const longLived = new AbortController();
    const perTurn = new AbortController();
    const disposed = linkedSignal([longLived.signal, perTurn.signal]);
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(1);
    disposed.dispose();
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(perTurn.signal, 'abort')).toHaveLength(0);

    const aborted = linkedSignal([longLived.signal, perTurn.signal]);
    perTurn.abort();
    expect(aborted.signal.aborted).toBe(true);
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });

  it('ignores parent aborts after dispose', () => {
    const parent = new AbortController();
    const linked = linkedSignal([parent.signal]);
    linked.dispose();
    parent.abort();
    expect(linked.signal.aborted).toBe(false);
  });

  it('aborts itself with a reason of its own and lets go of the parents', () => {
    const parent = new AbortController();
    const linked = linkedSignal([parent.signal]);
    const reason = new Error('deadline');
    linked.abort(reason);
    expect(linked.signal.reason).toBe(reason);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    parent.abort(new Error('later'));
    expect(linked.signal.reason).toBe(reason);
  });
});
