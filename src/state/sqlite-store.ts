import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { StateLockedError } from '../errors.js';
import { RecentKeys } from '../util/recent-keys.js';
import { GroupCommit, type WriteOptions } from './sqlite-group-commit.js';
import { migrate } from './sqlite-migrations.js';
import { WalFileSync } from './sqlite-wal-sync.js';
import { toChunk, toRecord, toRoute } from './sqlite-rows.js';
import { prepareStatements, type SqliteStatements } from './sqlite-statements.js';
import type {
  AcceptOptions,
  AcceptResult,
  InboxRecord,
  NewInboxEntry,
  ReplyRoute,
  StateStore,
  StoredChunk,
} from './store.js';

/** Resolve once committed: for writes whose loss with the machine costs only a repeat (see uses). */
const COMMITTED: WriteOptions = { waitForDisk: false };

/** File name of the database inside `state.dir`. */
export const SQLITE_FILE_NAME = 'gateway.sqlite';

export interface SqliteStoreOptions {
  /** Folder for the database (created when missing); `:memory:` for a throwaway store. */
  readonly dir: string;
  /** How long a finished message's dedupe key is kept. */
  readonly dedupeTtlMs: number;
  /**
   * How long opening waits for another process to let go of the file before it fails with
   * {@link StateLockedError} (a gateway still stopping while the next one starts).
   * @defaultValue 5000
   */
  readonly lockWaitMs?: number;
}

const DEFAULT_LOCK_WAIT_MS = 5_000;

/** Sessions remembered as answered (about 100 bytes each); the oldest are forgotten and looked up again. */
const ANSWERED_SESSIONS_CACHED = 10_000;

/**
 * SQLite's page cache, in KiB: SQLite's own default. better-sqlite3 builds SQLite with 16 MiB, which
 * a long-running gateway fills as its dedupe keys and routes grow; the pages it would hold beyond
 * this come from the OS's file cache at no measurable cost (the store alone at 50,000 messages over
 * 10,000 conversations: 65-73 us of CPU per message either way).
 */
const PAGE_CACHE_KIB = 2_000;

/**
 * The WAL is copied into the database file once it holds this many pages (about 40 MiB), on the
 * event loop inside a commit. Ten times SQLite's default: a page written many times between two
 * checkpoints is copied once, and the checkpoints' own fsyncs are ten times rarer; in the
 * throughput benchmark commits took about a quarter less time.
 */
const WAL_CHECKPOINT_PAGES = 10_000;

/**
 * The embedded {@link StateStore}: one SQLite file in WAL mode, so an acknowledged message survives
 * a crash of the process or the machine. Writes are group-committed (`sqlite-group-commit.ts`):
 * every write made in the same event-loop turn shares one transaction (a failing write fails alone).
 * A write resolves only once its transaction is on disk: the WAL file is fsynced on the thread pool
 * (`sqlite-wal-sync.ts`) instead of by SQLite on the event loop (`synchronous=NORMAL` plus that fsync
 * keeps the guarantee of `synchronous=FULL`). Three writes resolve once committed instead, safe
 * against a crash of the process, since a loss with the machine only repeats what the user does not
 * see: the turn start count, the "answered" flag and the finish of a fully sent entry. The file is
 * locked for as long as the store is open ({@link StateLockedError} for a second process).
 */
export class SqliteStateStore implements StateStore {
  readonly #db: Database.Database;
  readonly #dedupeTtlMs: number;
  readonly #groupCommit: GroupCommit;
  readonly #walSync: WalFileSync | undefined;
  readonly #leases = new Map<string, { owner: string; expiresAtMs: number }>();
  readonly #answeredSessions = new RecentKeys(ANSWERED_SESSIONS_CACHED);
  readonly #stopListeners: ((request: { queueKey: string; owner: string }) => void)[] = [];
  readonly #statements: SqliteStatements;

  constructor(options: SqliteStoreOptions) {
    this.#dedupeTtlMs = options.dedupeTtlMs;
    const path = options.dir === ':memory:' ? ':memory:' : join(options.dir, SQLITE_FILE_NAME);
    if (options.dir !== ':memory:') mkdirSync(options.dir, { recursive: true });
    this.#db = new Database(path, { timeout: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS });
    try {
      // One process owns the file (its leases live in memory). In WAL mode SQLite then takes the
      // lock at the first access and keeps it: no transaction makes locking calls on the shared-
      // memory index, and a second gateway on the same folder fails at start instead of answering
      // messages twice.
      this.#db.pragma('locking_mode = EXCLUSIVE');
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      this.#db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      this.#db.pragma('foreign_keys = ON');
      migrate(this.#db);
    } catch (error) {
      this.#db.close();
      throw isBusy(error) ? new StateLockedError(path, { cause: error }) : error;
    }
    this.#statements = prepareStatements(this.#db);
    this.#walSync = options.dir === ':memory:' ? undefined : new WalFileSync(path);
    this.#groupCommit = new GroupCommit(this.#db, this.#walSync);
  }

  accept(entry: NewInboxEntry, route: ReplyRoute, options: AcceptOptions = {}): Promise<AcceptResult> {
    const { onCommitted } = options;
    return this.#groupCommit.run<AcceptResult>(
      () => {
        const s = this.#statements;
        if (!this.#claim(entry.dedupeKey, null, entry.acceptedAtMs)) return { status: 'duplicate' };
        const { lastInsertRowid } = s.inboxInsert.run(
          entry.dedupeKey,
          entry.accountId,
          entry.queueKey,
          JSON.stringify(entry.job),
          entry.acceptedAtMs,
        );
        this.#putRoute(route);
        return { status: 'accepted', id: Number(lastInsertRowid) };
      },
      {
        onCommitted: (result) => {
          if (result.status === 'accepted') onCommitted?.();
        },
      },
    );
  }

  remember(dedupeKey: string, nowMs: number): Promise<'remembered' | 'duplicate'> {
    return this.#groupCommit.run(() => {
      return this.#claim(dedupeKey, nowMs + this.#dedupeTtlMs, nowMs) ? 'remembered' : 'duplicate';
    });
  }

  unfinished(): Promise<InboxRecord[]> {
    return settle(() => {
      const chunksByEntry = new Map<number, StoredChunk[]>();
      for (const row of this.#statements.chunksAll.all()) {
        const list = chunksByEntry.get(row.inbox_id) ?? [];
        list.push({
          index: row.idx,
          message: JSON.parse(row.message_json) as OutgoingMessage,
          sentAtMs: row.sent_at_ms ?? undefined,
        });
        chunksByEntry.set(row.inbox_id, list);
      }
      const records = this.#statements.inboxAll
        .all()
        .map((row) => toRecord(row, chunksByEntry.get(row.id) ?? []));
      return records;
    });
  }

  nextEntry(queueKey: string): Promise<InboxRecord | undefined> {
    return settle(() => {
      const row = this.#statements.queueHead.get(queueKey);
      return row === undefined
        ? undefined
        : toRecord(row, this.#statements.chunksOf.all(row.id).map(toChunk));
    });
  }

  queueLength(queueKey: string): Promise<number> {
    return settle(() => this.#statements.queueCount.get(queueKey)?.n ?? 0);
  }

  pendingQueueKeys(): Promise<string[]> {
    return settle(() => this.#statements.queueKeys.all().map((row) => row.queue_key));
  }

  // One process owns the database file, so leases only need to live in memory.
  acquireLease(queueKey: string, owner: string, ttlMs: number): Promise<boolean> {
    const nowMs = Date.now();
    const lease = this.#leases.get(queueKey);
    if (lease !== undefined && lease.owner !== owner && lease.expiresAtMs > nowMs)
      return Promise.resolve(false);
    this.#leases.set(queueKey, { owner, expiresAtMs: nowMs + ttlMs });
    return Promise.resolve(true);
  }

  releaseLease(queueKey: string, owner: string): Promise<void> {
    if (this.#leases.get(queueKey)?.owner === owner) this.#leases.delete(queueKey);
    return Promise.resolve();
  }

  // Lease holders other than the asker only exist here when one process runs several dispatchers.
  requestStop(queueKey: string, owner: string): Promise<boolean> {
    const lease = this.#leases.get(queueKey);
    if (lease === undefined || lease.owner === owner || lease.expiresAtMs <= Date.now())
      return Promise.resolve(false);
    for (const listener of this.#stopListeners) listener({ queueKey, owner: lease.owner });
    return Promise.resolve(true);
  }

  onStopRequest(listener: (request: { queueKey: string; owner: string }) => void): Promise<void> {
    this.#stopListeners.push(listener);
    return Promise.resolve();
  }

  // Writes on the reply path go through the same group commit as intake writes: with many
  // conversations in flight, one fsync covers all of a turn of the event loop (BENCHMARKS.md).

  // The start count guards against a message that crashes the process: that survives without the
  // fsync (the WAL file has it), so the turn does not wait for the disk before asking the agent.
  markStarted(id: number): Promise<number> {
    return this.#groupCommit.run(() => this.#statements.inboxStart.get(id)?.attempts ?? 0, COMMITTED);
  }

  planReply(id: number, messages: readonly OutgoingMessage[], isComplete: boolean): Promise<void> {
    return this.#groupCommit.run(() => {
      const s = this.#statements;
      for (const message of messages) s.chunkAppend.run(id, JSON.stringify(message), id);
      if (isComplete) s.inboxComplete.run(id);
    });
  }

  markChunkSent(id: number, index: number, nowMs: number): Promise<void> {
    return this.#groupCommit.run(() => {
      this.#statements.chunkSent.run(nowMs, id, index);
    });
  }

  // Not waiting for the disk: lost with the machine, the entry comes back complete with every chunk
  // marked sent (those marks did wait), so the next start finishes it without sending anything.
  finish(id: number, nowMs: number): Promise<void> {
    return this.#groupCommit.run(() => {
      const s = this.#statements;
      const deleted = s.inboxDelete.get(id);
      if (deleted === undefined) return;
      s.dedupeClaim.run(deleted.dedupe_key, nowMs + this.#dedupeTtlMs);
    }, COMMITTED);
  }

  route(conversationKey: string): Promise<ReplyRoute | undefined> {
    return settle(() => {
      const row = this.#statements.routeGet.get(conversationKey);
      return row === undefined ? undefined : toRoute(row);
    });
  }

  // A session once answered stays answered (`/new` moves to another key), and this process is the
  // only writer: the sessions known answered need neither a read nor a write on every turn.
  hasAnswered(sessionKey: string): Promise<boolean> {
    if (this.#answeredSessions.has(sessionKey)) return Promise.resolve(true);
    return settle(() => {
      const isAnswered = this.#statements.answeredGet.get(sessionKey) !== undefined;
      if (isAnswered) this.#answeredSessions.add(sessionKey);
      return isAnswered;
    });
  }

  // Lost with the machine, a session's next reply carries the response prefix once more.
  async markAnswered(sessionKey: string, nowMs: number): Promise<void> {
    if (this.#answeredSessions.has(sessionKey)) return;
    await this.#groupCommit.run(() => {
      this.#statements.answeredPut.run(sessionKey, nowMs);
    }, COMMITTED);
    this.#answeredSessions.add(sessionKey);
  }

  sessionGeneration(baseKey: string): Promise<number> {
    return settle(() => this.#statements.generationGet.get(baseKey)?.generation ?? 0);
  }

  bumpSessionGeneration(baseKey: string): Promise<number> {
    return this.#groupCommit.run(() => {
      this.#statements.generationBump.run(baseKey);
      return this.#statements.generationGet.get(baseKey)?.generation ?? 0;
    });
  }

  inboxDepth(): Promise<number> {
    return settle(() => {
      return this.#statements.inboxCount.get()?.n ?? 0;
    });
  }

  sweep(nowMs: number): Promise<number> {
    return this.#groupCommit.run(() => {
      return this.#statements.sweep.run(nowMs).changes;
    });
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#groupCommit.flush();
    await this.#walSync?.close();
    this.#db.close();
  }

  /** Claims `key` until `expiresAtMs` (`null`: until finished); false when a claim on it still holds at `nowMs`. */
  #claim(key: string, expiresAtMs: number | null, nowMs: number): boolean {
    return this.#statements.dedupeClaimFree.run(key, expiresAtMs, nowMs).changes === 1;
  }

  #putRoute(route: ReplyRoute): void {
    this.#statements.routePut.run(
      route.conversationKey,
      route.accountId,
      route.chatType,
      route.webhookUrl ?? null,
      route.webhookExpiresAtMs ?? null,
      route.staffId ?? null,
      route.openConversationId ?? null,
    );
  }
}

/** SQLite's "database is locked": another connection holds the file. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Runs a synchronous SQLite operation; a throw becomes a rejection, as the async contract promises. */
function settle<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
