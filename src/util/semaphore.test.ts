import { describe, expect, it } from 'vitest';

import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, in arrival order, and frees slots on failure', async () => {
    const semaphore = new Semaphore(2);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = [0, 1, 2, 3].map((index) =>
      semaphore.run(
        () =>
          new Promise<number>((resolve, reject) => {
            started.push(index);
            releases[index] = () => (index === 1 ? reject(new Error('boom')) : resolve(index));
          }),
      ),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(semaphore.waiting).toBe(2);
    releases[1]!();
    await expect(tasks[1]).rejects.toThrow('boom');
    expect(started).toEqual([0, 1, 2]);
    releases[0]!();
    releases[2]!();
    await Promise.all([tasks[0], tasks[2]]);
    expect(started).toEqual([0, 1, 2, 3]);
    releases[3]!();
    await expect(tasks[3]).resolves.toBe(3);
    expect(semaphore.active).toBe(0);
  });
});
