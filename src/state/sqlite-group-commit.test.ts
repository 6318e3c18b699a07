import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type Durability, GroupCommit } from './sqlite-group-commit.js';

/** A durability whose syncs the test completes by hand. */
class ManualDurability implements Durability {
  readonly calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.calls.push({ resolve, reject }));
  }
}

let db: Database.Database;

beforeEach(() => {
  db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER UNIQUE)');
});

afterEach(() => {
  db.close();
});

const count = (): number => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;

describe('GroupCommit', () => {
  it('commits the writes of one event-loop turn together; a failing write fails alone', async () => {
    const commit = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const results = await Promise.allSettled([
      commit.run(() => insert.run(1).changes),
      commit.run(() => insert.run(1).changes),
      commit.run(() => insert.run(2).changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(count()).toBe(2);
  });

  it('applies the good writes of a batch with a failing one exactly once', async () => {
    db.exec('CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)');
    const commit = new GroupCommit(db);
    const bump = (): number => db.prepare('UPDATE counter SET n = n + 1').run().changes;
    const results = await Promise.allSettled([
      commit.run(bump),
      commit.run(() => {
        bump();
        throw new Error('bad write');
      }),
      commit.run(bump),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT n FROM counter').get()).toEqual({ n: 2 });
  });

  it('resolves writes only once the durability reports their transaction on disk', async () => {
    const durability = new ManualDurability();
    const commit = new GroupCommit(db, durability);
    let isResolved = false;
    const write = commit
      .run(() => db.prepare('INSERT INTO t VALUES (1)').run())
      .then(() => (isResolved = true));
    await new Promise((resolve) => setImmediate(resolve));
    // Committed (visible) but not reported done before the sync finished.
    expect(count()).toBe(1);
    expect(durability.calls).toHaveLength(1);
    expect(isResolved).toBe(false);
    durability.calls[0]!.resolve();
    await write;
    expect(isResolved).toBe(true);
  });

  it('tells a write it is committed before the sync, and not when the write failed', async () => {
    const durability = new ManualDurability();
    const commit = new GroupCommit(db, durability);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const told: { value: number; rows: number; isResolved: boolean }[] = [];
    let isResolved = false;
    const onCommitted = (value: number): void => {
      told.push({ value, rows: count(), isResolved });
    };
    const good = commit.run(() => insert.run(1).changes, { onCommitted }).then(() => (isResolved = true));
    const bad = commit.run(() => insert.run(1).changes, { onCommitted });
    await new Promise((resolve) => setImmediate(resolve));
    // Told at the commit, with the row visible, while the promise still waits for the sync.
    expect(told).toEqual([{ value: 1, rows: 1, isResolved: false }]);
    durability.calls[0]!.resolve();
    await expect(bad).rejects.toThrow(/UNIQUE/);
    await good;
    expect(isResolved).toBe(true);
    expect(told).toHaveLength(1);
  });

  it('fails a write whose onCommitted threw, its data committed all the same', async () => {
    const commit = new GroupCommit(db);
    const write = commit.run(() => db.prepare('INSERT INTO t VALUES (1)').run().changes, {
      onCommitted: () => {
        throw new Error('listener broke');
      },
    });
    await expect(write).rejects.toThrow('listener broke');
    expect(count()).toBe(1);
  });

  it('fails every write of a batch whose sync failed', async () => {
    const durability = new ManualDurability();
    const commit = new GroupCommit(db, durability);
    const writes = [1, 2].map((x) => commit.run(() => db.prepare('INSERT INTO t VALUES (?)').run(x)));
    await new Promise((resolve) => setImmediate(resolve));
    durability.calls[0]!.reject(new Error('EIO'));
    const results = await Promise.allSettled(writes);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('GroupCommit writes that do not wait for the disk', () => {
  it('resolves them once committed, and the others of the batch only after the sync', async () => {
    const durability = new ManualDurability();
    const commit = new GroupCommit(db, durability);
    const settled: string[] = [];
    const insert = (x: number) => () => db.prepare('INSERT INTO t VALUES (?)').run(x).changes;
    const committedOnly = commit.run(insert(1), { waitForDisk: false }).then(() => settled.push('committed'));
    const onDisk = commit.run(insert(2)).then(() => settled.push('on disk'));
    await committedOnly;
    expect(count()).toBe(2);
    expect(settled).toEqual(['committed']);
    durability.calls[0]!.resolve();
    await onDisk;
    expect(settled).toEqual(['committed', 'on disk']);
  });

  it('does not sync a batch in which no write waits, and a failed sync spares the writes that did not wait', async () => {
    const durability = new ManualDurability();
    const commit = new GroupCommit(db, durability);
    await commit.run(() => db.prepare('INSERT INTO t VALUES (1)').run(), { waitForDisk: false });
    expect(durability.calls).toHaveLength(0);
    const results = Promise.allSettled([
      commit.run(() => db.prepare('INSERT INTO t VALUES (2)').run(), { waitForDisk: false }),
      commit.run(() => db.prepare('INSERT INTO t VALUES (3)').run()),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    durability.calls[0]!.reject(new Error('EIO'));
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });
});
