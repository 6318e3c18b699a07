import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Makes committed SQLite transactions durable off the event loop.
 *
 * The database runs in WAL mode with `synchronous=NORMAL`: a commit only writes its frames to the
 * `-wal` file (into the OS page cache) and returns. This class then fsyncs that file on libuv's
 * thread pool, and the group commit resolves a write only once the fsync that covers it is done.
 * The guarantee is the one of `synchronous=FULL` (a write is on disk before anyone is told it is
 * done: before a message is ACKed, a reply chunk marked sent), but the main thread never waits
 * for the disk, and one fsync covers every commit made while the previous one was running.
 * Checkpoints, which copy the WAL into the database file, still sync both files themselves.
 */
export class WalFileSync {
  readonly #walPath: string;
  readonly #coalesce: CoalescedSync;
  #file: FileHandle | undefined;
  #isClosed = false;

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
    this.#coalesce = new CoalescedSync(() => this.#fsyncOnce());
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    return this.#coalesce.sync();
  }

  /** Waits for the fsyncs under way, then lets go of the WAL file (before the database closes). */
  async close(): Promise<void> {
    await this.#coalesce.idle();
    this.#isClosed = true;
    await this.#file?.close();
    this.#file = undefined;
  }

  async #fsyncOnce(): Promise<void> {
    if (this.#isClosed) throw new Error('the SQLite WAL file is closed');
    if (this.#file === undefined) {
      // SQLite created the WAL file (its first commit did); with NORMAL it would only sync the
      // folder at the first checkpoint, so make the file's name durable here, once.
      this.#file = await open(this.#walPath, 'r+');
      await syncFolder(dirname(this.#walPath));
    }
    await this.#file.sync();
  }
}

/**
 * Runs an fsync for every caller, but never two at once: the callers that arrive while one is
 * running share the next one (it starts after their data was written, so it covers them).
 */
export class CoalescedSync {
  readonly #fsyncOnce: () => Promise<void>;
  #waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #running: Promise<void> | undefined;

  constructor(fsyncOnce: () => Promise<void>) {
    this.#fsyncOnce = fsyncOnce;
  }

  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  /** Resolves when no fsync is running or waiting. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const group = this.#waiting;
      this.#waiting = [];
      try {
        await this.#fsyncOnce();
        for (const waiter of group) waiter.resolve();
      } catch (error) {
        for (const waiter of group) waiter.reject(error);
      }
    }
    this.#running = undefined;
  }
}

async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
