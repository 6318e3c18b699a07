import type Database from 'better-sqlite3';

interface PendingWrite {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Makes the transactions committed so far durable (see `sqlite-wal-sync.ts`). */
export interface Durability {
  sync(): Promise<void>;
}

/**
 * Group commit for a better-sqlite3 database: every write handed to {@link run} in the same
 * event-loop turn commits in one transaction, each in its own savepoint so one failing write rolls
 * back alone and fails only its own promise. With a {@link Durability}, the writes resolve only
 * once it reports the transaction on disk; a failed sync fails the whole batch.
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #durability: Durability | undefined;
  readonly #pending: PendingWrite[] = [];
  #isFlushScheduled = false;

  constructor(db: Database.Database, durability?: Durability) {
    this.#db = db;
    this.#durability = durability;
  }

  /** Runs `write` in the next group transaction; resolves with its result once committed. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run: write, resolve: resolve as (value: unknown) => void, reject });
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
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.#db.transaction(() => {
        for (const write of batch) {
          try {
            // A nested transaction is a savepoint: a failing write rolls back alone.
            results.push({ ok: true, value: this.#db.transaction(write.run)() });
          } catch (error) {
            results.push({ ok: false, value: error });
          }
        }
      })();
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    const settleBatch = (): void => {
      batch.forEach((write, index) => {
        const result = results[index];
        if (result?.ok === true) write.resolve(result.value);
        else write.reject(result?.value);
      });
    };
    if (this.#durability === undefined) settleBatch();
    else
      this.#durability.sync().then(settleBatch, (error: unknown) => {
        for (const write of batch) write.reject(error);
      });
  }
}
