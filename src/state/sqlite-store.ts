import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { StateLockedError } from '../errors.js';
import { RecentKeys } from '../util/recent-keys.js';
import { GroupCommit, type WriteOptions } from './sqlite-group-commit.js';
import { migrate } from './sqlite-migrations.js';
import { WalFileSync } from './sqlite-wal-sync.js';
import { type ChunkRow, type InboxRow, type RouteRow, toChunk, toRecord, toRoute } from './sqlite-rows.js';
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

/** In the route upsert: the stored session webhook outlives the new one (or there is no new one). */
const KEEPS_OLD_WEBHOOK = `routes.webhook_url IS NOT NULL AND (excluded.webhook_url IS NULL
  OR COALESCE(routes.webhook_expires_at_ms, 0) > COALESCE(excluded.webhook_expires_at_ms, 0))`;

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
  readonly #statements;

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
    this.#statements = this.#prepare();
    this.#walSync = options.dir === ':memory:' ? undefined : new WalFileSync(path);
    this.#groupCommit = new GroupCommit(this.#db, this.#walSync);
  }

  #prepare() {
    const db = this.#db;
    return {
      // Claims a key unless a claim on it still holds (no expiry, or not yet expired): one statement
      // instead of a read and a write; no row changed means the key was already claimed.
      dedupeClaimFree: db.prepare<[string, number | null, number]>(
        `INSERT INTO dedupe (key, expires_at_ms) VALUES (?, ?) ON CONFLICT(key) DO UPDATE
         SET expires_at_ms = excluded.expires_at_ms
         WHERE dedupe.expires_at_ms IS NOT NULL AND dedupe.expires_at_ms <= ?`,
      ),
      dedupeClaim: db.prepare<[string, number | null]>(
        'INSERT INTO dedupe (key, expires_at_ms) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms',
      ),
      inboxInsert: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO inbox (dedupe_key, account_id, queue_key, job_json, accepted_at_ms) VALUES (?, ?, ?, ?, ?)',
      ),
      inboxAll: db.prepare<[], InboxRow>('SELECT * FROM inbox ORDER BY id'),
      inboxCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM inbox'),
      queueHead: db.prepare<[string], InboxRow>(
        'SELECT * FROM inbox WHERE queue_key = ? ORDER BY id LIMIT 1',
      ),
      queueCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM inbox WHERE queue_key = ?'),
      queueKeys: db.prepare<[], { queue_key: string }>('SELECT DISTINCT queue_key FROM inbox'),
      chunksOf: db.prepare<[number], ChunkRow>('SELECT * FROM reply_chunks WHERE inbox_id = ? ORDER BY idx'),
      // RETURNING: one statement, and no copy of the row's job JSON, per turn start and finish.
      inboxStart: db.prepare<[number], { attempts: number }>(
        'UPDATE inbox SET attempts = attempts + 1 WHERE id = ? RETURNING attempts',
      ),
      inboxComplete: db.prepare<[number]>('UPDATE inbox SET reply_complete = 1 WHERE id = ?'),
      inboxDelete: db.prepare<[number], { dedupe_key: string }>(
        'DELETE FROM inbox WHERE id = ? RETURNING dedupe_key',
      ),
      chunksAll: db.prepare<[], ChunkRow>('SELECT * FROM reply_chunks ORDER BY inbox_id, idx'),
      // Appends after the entry's last chunk (index 0 for its first).
      chunkAppend: db.prepare<[number, string, number]>(
        `INSERT INTO reply_chunks (inbox_id, idx, message_json)
         SELECT ?, COALESCE(MAX(idx) + 1, 0), ? FROM reply_chunks WHERE inbox_id = ?`,
      ),
      chunkSent: db.prepare<[number, number, number]>(
        'UPDATE reply_chunks SET sent_at_ms = ? WHERE inbox_id = ? AND idx = ?',
      ),
      routeGet: db.prepare<[string], RouteRow>('SELECT * FROM routes WHERE conversation_key = ?'),
      // Keeps whichever session webhook lives longer: an old message accepted late must not replace
      // a fresher one (and a route without a webhook keeps the one known). Ids not given are kept.
      routePut: db.prepare<
        [string, string, string, string | null, number | null, string | null, string | null]
      >(
        `INSERT INTO routes (conversation_key, account_id, chat_type, webhook_url, webhook_expires_at_ms, staff_id, open_conversation_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(conversation_key) DO UPDATE SET
           account_id = excluded.account_id, chat_type = excluded.chat_type,
           webhook_url = CASE WHEN ${KEEPS_OLD_WEBHOOK} THEN routes.webhook_url ELSE excluded.webhook_url END,
           webhook_expires_at_ms = CASE WHEN ${KEEPS_OLD_WEBHOOK}
             THEN routes.webhook_expires_at_ms ELSE excluded.webhook_expires_at_ms END,
           staff_id = COALESCE(excluded.staff_id, routes.staff_id),
           open_conversation_id = COALESCE(excluded.open_conversation_id, routes.open_conversation_id)`,
      ),
      answeredGet: db.prepare<[string], { n: number }>(
        'SELECT 1 AS n FROM answered_sessions WHERE session_key = ?',
      ),
      answeredPut: db.prepare<[string, number]>(
        'INSERT INTO answered_sessions (session_key, answered_at_ms) VALUES (?, ?) ON CONFLICT DO NOTHING',
      ),
      generationGet: db.prepare<[string], { generation: number }>(
        'SELECT generation FROM session_generations WHERE base_key = ?',
      ),
      generationBump: db.prepare<[string]>(
        `INSERT INTO session_generations (base_key, generation) VALUES (?, 1)
         ON CONFLICT(base_key) DO UPDATE SET generation = generation + 1`,
      ),
      sweep: db.prepare<[number]>(
        'DELETE FROM dedupe WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?',
      ),
    };
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
