import { describe, expect, it } from 'vitest';

import { KeyedQueue } from './keyed-queue.js';

interface Gate {
  readonly promise: Promise<void>;
  readonly open: () => void;
  readonly fail: (error: Error) => void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every queued microtask (promise chain step) run. */
async function flush(): Promise<void> {
  for (let index = 0; index < 10; index += 1) await Promise.resolve();
}

describe('KeyedQueue', () => {
  it('counts one running task per active key, the rest as waiting', async () => {
    const queue = new KeyedQueue();
    const gates = [gate(), gate(), gate()];
    queue.push('a', () => gates[0]!.promise);
    queue.push('a', () => gates[1]!.promise);
    queue.push('b', () => gates[2]!.promise);
    expect([queue.size, queue.activeKeys]).toEqual([3, 2]);
    for (const g of gates) g.open();
    await queue.onIdle();
    expect([queue.size, queue.activeKeys]).toEqual([0, 0]);
  });

  it('runs the tasks of one key one at a time, in submission order', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const gates = [gate(), gate(), gate()];
    gates.forEach((g, index) => {
      queue.push('conv', async () => {
        log.push(`start ${index}`);
        await g.promise;
        log.push(`end ${index}`);
      });
    });
    await flush();
    expect(log).toEqual(['start 0']);
    gates[1]!.open();
    gates[2]!.open();
    await flush();
    expect(log).toEqual(['start 0']);
    gates[0]!.open();
    await queue.onIdle();
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('runs different keys concurrently', async () => {
    const queue = new KeyedQueue();
    const started: string[] = [];
    const a = gate();
    const b = gate();
    queue.push('a', async () => {
      started.push('a');
      await a.promise;
    });
    queue.push('b', async () => {
      started.push('b');
      await b.promise;
    });
    await flush();
    expect(started).toEqual(['a', 'b']);
    b.open();
    a.open();
    await queue.onIdle();
    expect(queue.size).toBe(0);
  });

  it.each([
    ['rejects', (g: Gate) => () => g.promise.then(() => Promise.reject(new Error('turn failed')))],
    [
      'throws synchronously',
      (_g: Gate) => () => {
        throw new Error('sync failure');
      },
    ],
  ])('a task that %s does not block the next task of its key', async (_name, makeFailing) => {
    const queue = new KeyedQueue();
    const g = gate();
    const ran: string[] = [];
    queue.push('k', makeFailing(g));
    queue.push('k', () => {
      ran.push('second');
      return Promise.resolve();
    });
    g.open();
    await queue.onIdle();
    expect(ran).toEqual(['second']);
    expect(queue.depth('k')).toBe(0);
  });

  it('a failing task releases waiting tasks even while it was blocked', async () => {
    const queue = new KeyedQueue();
    const first = gate();
    const ran: number[] = [];
    queue.push('k', () => first.promise);
    queue.push('k', () => {
      ran.push(2);
      return Promise.resolve();
    });
    first.fail(new Error('nope'));
    await queue.onIdle();
    expect(ran).toEqual([2]);
  });

  it('tracks depth per key and size over all keys', async () => {
    const queue = new KeyedQueue();
    const gates = [gate(), gate(), gate()];
    expect(queue.depth('a')).toBe(0);
    expect(queue.size).toBe(0);
    queue.push('a', () => gates[0]!.promise);
    queue.push('a', () => gates[1]!.promise);
    queue.push('b', () => gates[2]!.promise);
    expect(queue.depth('a')).toBe(2);
    expect(queue.depth('b')).toBe(1);
    expect(queue.depth('c')).toBe(0);
    expect(queue.size).toBe(3);

    gates[0]!.open();
    await flush();
    expect(queue.depth('a')).toBe(1);
    expect(queue.size).toBe(2);

    gates[2]!.fail(new Error('b failed'));
    await flush();
    expect(queue.depth('b')).toBe(0);
    expect(queue.size).toBe(1);

    gates[1]!.open();
    await queue.onIdle();
    expect(queue.depth('a')).toBe(0);
    expect(queue.size).toBe(0);
  });

  it('onIdle resolves at once when nothing runs', async () => {
    const queue = new KeyedQueue();
    let isResolved = false;
    void queue.onIdle().then(() => {
      isResolved = true;
    });
    await flush();
    expect(isResolved).toBe(true);
  });

  it('onIdle waits for every key, and every waiter is released', async () => {
    const queue = new KeyedQueue();
    const a = gate();
    const b = gate();
    queue.push('a', () => a.promise);
    queue.push('b', () => b.promise);
    let released = 0;
    const waiters = [queue.onIdle(), queue.onIdle()].map((p) =>
      p.then(() => {
        released += 1;
      }),
    );
    a.open();
    await flush();
    expect(released).toBe(0);
    b.open();
    await Promise.all(waiters);
    expect(released).toBe(2);
  });

  it('onIdle includes tasks pushed while others run', async () => {
    const queue = new KeyedQueue();
    const first = gate();
    const second = gate();
    const done: string[] = [];
    queue.push('a', async () => {
      await first.promise;
      done.push('first');
    });
    const idle = queue.onIdle().then(() => done.push('idle'));
    queue.push('b', async () => {
      await second.promise;
      done.push('second');
    });
    first.open();
    await flush();
    expect(done).toEqual(['first']);
    second.open();
    await idle;
    expect(done).toEqual(['first', 'second', 'idle']);
  });

  it('a key can be reused after it drained', async () => {
    const queue = new KeyedQueue();
    const order: number[] = [];
    queue.push('k', () => {
      order.push(1);
      return Promise.resolve();
    });
    await queue.onIdle();
    queue.push('k', () => {
      order.push(2);
      return Promise.resolve();
    });
    await queue.onIdle();
    expect(order).toEqual([1, 2]);
    expect(queue.depth('k')).toBe(0);
  });

  it('keeps order over many tasks and keys', async () => {
    const queue = new KeyedQueue();
    const seen = new Map<string, number[]>();
    for (let index = 0; index < 300; index += 1) {
      const key = `k${index % 7}`;
      queue.push(key, async () => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        seen.set(key, [...(seen.get(key) ?? []), index]);
      });
    }
    await queue.onIdle();
    for (const [key, indexes] of seen) {
      expect({ key, indexes }).toEqual({ key, indexes: [...indexes].sort((x, y) => x - y) });
    }
    expect([...seen.values()].flat()).toHaveLength(300);
  });
});
