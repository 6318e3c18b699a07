import { describe, expect, it } from 'vitest';

import { settlesWithin } from './settles-within.js';

describe('settlesWithin', () => {
  it('gives the value of a promise that settles in time', async () => {
    await expect(settlesWithin(Promise.resolve(3), 1_000)).resolves.toEqual({ isDone: true, value: 3 });
  });

  it('reports a timeout for a promise still pending at the deadline', async () => {
    await expect(settlesWithin(new Promise(() => undefined), 20)).resolves.toEqual({ isDone: false });
  });

  it('passes a rejection through', async () => {
    await expect(settlesWithin(Promise.reject(new Error('broken')), 1_000)).rejects.toThrow('broken');
  });
});
