import { describe, expect, it } from 'vitest';

import { abortable } from './abortable.js';

describe('abortable', () => {
  it('resolves with the promise when the signal stays quiet', async () => {
    await expect(abortable(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });

  it('rejects with the reason as soon as the signal aborts, before the promise settles', async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => undefined);
    const raced = abortable(never, controller.signal);
    controller.abort(new Error('stop now'));
    await expect(raced).rejects.toThrow('stop now');
  });

  it('maps the reason with toError, also for a signal aborted beforehand', async () => {
    const controller = new AbortController();
    controller.abort('plain reason');
    const raced = abortable(
      Promise.resolve(1),
      controller.signal,
      (reason) => new RangeError(String(reason)),
    );
    await expect(raced).rejects.toThrow(RangeError);
    await expect(abortable(Promise.resolve(1), controller.signal)).rejects.toThrow('aborted');
  });

  it('wraps a non-Error rejection of the promise in an Error', async () => {
    const rejected = new Promise<number>((_resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      reject('text only');
    });
    await expect(abortable(rejected, new AbortController().signal)).rejects.toThrow('text only');
  });
});
