import type Database from 'better-sqlite3';

interface WriteResult {
  readonly ok: boolean;
  readonly value: unknown;
}

interface PendingWrite {
  readonly run: () => unknown;
  /** Resolve only once the transaction is on disk (else: once committed). */
  readonly waitsForDisk: boolean;
  readonly onCommitted: ((value: unknown) => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Hands a write its result: its value, or the error it threw. */
function settle(write: PendingWrite, result: WriteResult | undefined): void {
  if (result?.ok === true) write.resolve(result.value);
  else write.reject(result?.value);
}

/** Calls the write's `onCommitted` after a success; a throw there becomes the write's failure. */
function tellCommitted(write: PendingWrite, result: WriteResult | undefined): WriteResult | undefined {
  if (write.onCommitted === undefined || result?.ok !== true) return result;
  try {
    write.onCommitted(result.value);
    return result;
  } catch (error) {
    return { ok: false, value: error };
  }
}

/** How long {@link GroupCommit.run} waits before it resolves, and what it says once committed. */
export interface WriteOptions<T = unknown> {
  /**
   * `false`: resolve once committed, without waiting for the sync. The write survives a crash of the
   * process (the WAL file has it) and may be lost only with the machine (power loss, kernel panic);
   * for writes whose loss then costs nothing worse than a repeat the user does not see.
   * @defaultValue true
   */
  readonly waitForDisk?: boolean;
  /**
   * Called with the write's result as soon as its transaction is committed (visible to every
   * later read), before the returned promise resolves when that waits for the disk. Not called
   * when the write failed. A throw fails the write's promise (its data stays committed).
   */
  readonly onCommitted?: (value: T) => void;
}

/** Makes the transactions committed so far durable (see `sqlite-wal-sync.ts`). */
export interface Durability {
  sync(): Promise<void>;
}

/**
 * Group commit for a better-sqlite3 database: every write handed to {@link run} in the same
 * event-loop turn commits in one transaction. A failing write fails only its own promise: the batch
 * is then run again with each write in its own savepoint, so that write rolls back alone. With a
 * {@link Durability}, the writes resolve only once it reports the transaction on disk (unless
 * asked not to wait, {@link WriteOptions}); a failed sync fails every write of the batch that waits.
 * A write may ask to be told at the commit already (`onCommitted`), to start work on what it wrote.
 */
export class GroupCommit {
  readonly #durability: Durability | undefined;
  readonly #pending: PendingWrite[] = [];
  readonly #runAll: (batch: readonly PendingWrite[], results: WriteResult[]) => void;
  readonly #runEachAlone: (batch: readonly PendingWrite[], results: WriteResult[]) => void;
  #isFlushScheduled = false;

  constructor(db: Database.Database, durability?: Durability) {
    this.#durability = durability;
    // Transaction functions made once: better-sqlite3's wrapper is not free to build per call.
    this.#runAll = db.transaction((batch: readonly PendingWrite[], results: WriteResult[]) => {
      for (const write of batch) results.push({ ok: true, value: write.run() });
    });
    // Called inside the outer transaction, a transaction function runs as a savepoint.
    const inSavepoint = db.transaction((write: PendingWrite) => write.run());
    this.#runEachAlone = db.transaction((batch: readonly PendingWrite[], results: WriteResult[]) => {
      for (const write of batch) {
        try {
          results.push({ ok: true, value: inSavepoint(write) });
        } catch (error) {
          results.push({ ok: false, value: error });
        }
      }
    });
  }

  /**
   * Runs `write` in the next group transaction; resolves with its result once committed. `write`
   * must only touch the database: after a failure in its batch it runs a second time (its first
   * run rolled back).
   */
  run<T>(write: () => T, options: WriteOptions<T> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        run: write,
        waitsForDisk: options.waitForDisk ?? true,
        onCommitted: options.onCommitted as ((value: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#isFlushScheduled) {
        this.#isFlushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits the waiting writes now (also before the database closes). */
  flush(): void {
    this.#isFlushScheduled = false;
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    let results: WriteResult[];
    try {
      results = this.#commitTogether(batch) ?? this.#commitEachAlone(batch);
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    // Settled now: every write without a durability, else those that only wait for the commit.
    const durability = this.#durability;
    const afterSync: [PendingWrite, WriteResult | undefined][] = [];
    for (const [index, write] of batch.entries()) {
      const result = tellCommitted(write, results[index]);
      if (durability !== undefined && write.waitsForDisk) afterSync.push([write, result]);
      else settle(write, result);
    }
    if (durability === undefined || afterSync.length === 0) return;
    durability.sync().then(
      () => {
        for (const [write, result] of afterSync) settle(write, result);
      },
      (error: unknown) => {
        for (const [write] of afterSync) write.reject(error);
      },
    );
  }

  /**
   * The usual case: every write in one transaction, without a savepoint each (two statements fewer
   * per write). When a write throws, the whole transaction rolls back and this returns undefined.
   */
  #commitTogether(batch: readonly PendingWrite[]): WriteResult[] | undefined {
    const results: WriteResult[] = [];
    try {
      this.#runAll(batch, results);
    } catch {
      return undefined;
    }
    return results;
  }

  /** After a failure: each write again, in its own savepoint, so that the failing one rolls back alone. */
  #commitEachAlone(batch: readonly PendingWrite[]): WriteResult[] {
    const results: WriteResult[] = [];
    this.#runEachAlone(batch, results);
    return results;
  }
}
