import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { CoalescedSync, WalFileSync } from './sqlite-wal-sync.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CoalescedSync', () => {
  it('runs one fsync at a time, and one more for all callers that came while it ran', async () => {
    const fsyncs: ReturnType<typeof deferred>[] = [];
    const sync = new CoalescedSync(() => {
      const next = deferred();
      fsyncs.push(next);
      return next.promise;
    });
    const first = sync.sync();
    const later = [sync.sync(), sync.sync(), sync.sync()];
    let isLaterDone = false;
    void Promise.all(later).then(() => (isLaterDone = true));
    expect(fsyncs).toHaveLength(1);

    fsyncs[0]!.resolve();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    // The callers that arrived during the first fsync wait for a second one, not for the first.
    expect(isLaterDone).toBe(false);
    expect(fsyncs).toHaveLength(2);
    fsyncs[1]!.resolve();
    await Promise.all(later);
    expect(fsyncs).toHaveLength(2);
  });

  it('fails only the callers of a failed fsync; the callers after it get a fresh one', async () => {
    let calls = 0;
    const sync = new CoalescedSync(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('EIO')) : Promise.resolve();
    });
    const failed = sync.sync();
    const during = sync.sync();
    await expect(failed).rejects.toThrow('EIO');
    await expect(during).resolves.toBeUndefined();
    await expect(sync.sync()).resolves.toBeUndefined();
    expect(calls).toBe(3);
  });

  it('idle() waits until nothing is running or waiting', async () => {
    const gate = deferred();
    const sync = new CoalescedSync(() => gate.promise);
    const pending = sync.sync();
    let isIdle = false;
    const idle = sync.idle().then(() => (isIdle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(isIdle).toBe(false);
    gate.resolve();
    await Promise.all([pending, idle]);
    expect(isIdle).toBe(true);
  });
});

describe('WalFileSync', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("fsyncs the database's WAL file, and refuses after close", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-wal-'));
    dirs.push(dir);
    const path = join(dir, 'state.sqlite');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x INTEGER)');
    db.prepare('INSERT INTO t VALUES (1)').run();
    const wal = new WalFileSync(path);
    await expect(wal.sync()).resolves.toBeUndefined();
    await wal.close();
    await expect(wal.sync()).rejects.toThrow('closed');
    db.close();
  });

  it('reports a missing WAL file as a failed sync', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-wal-'));
    dirs.push(dir);
    const wal = new WalFileSync(join(dir, 'absent.sqlite'));
    await expect(wal.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    await wal.close();
  });
});
