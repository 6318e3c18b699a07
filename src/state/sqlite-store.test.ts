import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { describeStateStore } from '../../test/helpers/state-store-contract.js';
import {
  CONVERSATION_KEY,
  MD,
  T0,
  TTL_MS,
  TXT,
  acceptId,
  entry,
  route,
} from '../../test/helpers/state-store-fixtures.js';
import { StateLockedError } from '../errors.js';
import { MIGRATIONS, migrate } from './sqlite-migrations.js';
import { SQLITE_FILE_NAME, SqliteStateStore } from './sqlite-store.js';

let dirs: string[] = [];
let stores: SqliteStateStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sqlite-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, dedupeTtlMs = TTL_MS): SqliteStateStore {
  const store = new SqliteStateStore({ dir, dedupeTtlMs });
  stores.push(store);
  return store;
}

beforeEach(() => {
  dirs = [];
  stores = [];
});

afterEach(async () => {
  for (const store of stores) await store.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeStateStore('SqliteStateStore (a file in a temp dir)', (dedupeTtlMs) => open(tempDir(), dedupeTtlMs));
describeStateStore('SqliteStateStore (memory)', (dedupeTtlMs) => open(':memory:', dedupeTtlMs));

describe('SqliteStateStore sweep', () => {
  let store: SqliteStateStore;

  beforeEach(() => {
    store = open(':memory:');
  });

  it('drops the dedupe key of a finished entry once its TTL passed, even for an old clock afterwards', async () => {
    const id = await acceptId(store, entry('m1'));
    await store.finish(id, T0 + 500);
    expect(await store.sweep(T0 + 500 + TTL_MS - 1)).toBe(0);
    expect(await store.sweep(T0 + 500 + TTL_MS)).toBe(1);
    // Once swept, the key is free even when asked with an old clock.
    await acceptId(store, entry('m1', T0));
  });

  it('sweeps only expired keys, never keys of unfinished entries', async () => {
    await store.remember('robot:r1', T0);
    await store.remember('robot:r2', T0 + 10);
    await acceptId(store, entry('m1'));
    expect(await store.sweep(T0 + TTL_MS)).toBe(1);
    expect(await store.remember('robot:r2', T0 + TTL_MS)).toBe('duplicate');
    expect(await store.sweep(T0 + 10 * TTL_MS)).toBe(1);
    expect(await store.sweep(T0 + 10 * TTL_MS)).toBe(0);
    expect(await store.accept(entry('m1', T0 + 10 * TTL_MS), route())).toEqual({ status: 'duplicate' });
  });
});

describe('SqliteStateStore failures', () => {
  // StateStore methods are async by contract: app.ts runs `void store.sweep(now).catch(...)` from a timer,
  // where a synchronous throw (disk full, SQLITE_BUSY, closed database) escapes the catch and crashes the process.
  let store: SqliteStateStore;

  beforeEach(() => {
    store = open(':memory:');
  });

  it('reports a failed write as a rejected promise, not a synchronous throw', async () => {
    // An entry finished meanwhile: its chunks violate the foreign key.
    const id = await acceptId(store, entry('m1'));
    await store.finish(id, T0);
    let result: Promise<void> | undefined;
    expect(() => {
      result = store.planReply(id, [MD], true);
    }).not.toThrow();
    await expect(result).rejects.toThrow(/FOREIGN KEY/);
  });

  it.each<[string, (s: SqliteStateStore) => Promise<unknown>]>([
    ['accept', (s) => s.accept(entry('late'), route())],
    ['remember', (s) => s.remember('robot:late', T0)],
    ['unfinished', (s) => s.unfinished()],
    ['markStarted', (s) => s.markStarted(1)],
    ['planReply', (s) => s.planReply(1, [MD], true)],
    ['markChunkSent', (s) => s.markChunkSent(1, 0, T0)],
    ['finish', (s) => s.finish(1, T0)],
    ['route', (s) => s.route(CONVERSATION_KEY)],
    ['hasAnswered', (s) => s.hasAnswered('s1')],
    ['markAnswered', (s) => s.markAnswered('s1', T0)],
    ['inboxDepth', (s) => s.inboxDepth()],
    ['sweep', (s) => s.sweep(T0)],
  ])('%s on a closed store rejects instead of throwing', async (_name, call) => {
    await store.close();
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = call(store);
    }).not.toThrow();
    await expect(result).rejects.toThrow(/not open/);
  });
});

describe('SqliteStateStore durability', () => {
  it('keeps everything across close and reopen of the same dir', async () => {
    const dir = tempDir();
    const first = open(dir);
    const id1 = await acceptId(first, entry('m1', T0), route());
    const id2 = await acceptId(first, entry('m2', T0 + 1));
    const done = await acceptId(first, entry('m3', T0 + 2));
    await first.markStarted(id1);
    await first.planReply(id1, [MD, TXT], true);
    await first.markChunkSent(id1, 0, T0 + 3);
    await first.finish(done, T0 + 4);
    await first.remember('robot:rejected', T0);
    await first.markAnswered('dingtalk:s', T0);
    const before = await first.unfinished();
    await first.close();

    const second = open(dir);
    expect(await second.unfinished()).toEqual(before);
    expect(before.map((r) => r.id)).toEqual([id1, id2]);
    expect(await second.route(CONVERSATION_KEY)).toEqual(route());
    expect(await second.hasAnswered('dingtalk:s')).toBe(true);
    expect(await second.remember('robot:rejected', T0 + 1)).toBe('duplicate');
    expect(await second.accept(entry('m3', T0 + 5), route())).toEqual({ status: 'duplicate' });
    expect(await second.accept(entry('m1', T0 + 5), route())).toEqual({ status: 'duplicate' });
    expect(await acceptId(second, entry('m4'))).toBeGreaterThan(done);
  });

  it('deletes the reply chunks of a finished entry from the file', async () => {
    const dir = tempDir();
    const store = open(dir);
    const id = await acceptId(store, entry('m1'));
    const other = await acceptId(store, entry('m2'));
    await store.planReply(id, [MD, TXT], true);
    await store.planReply(other, [TXT], false);
    await store.finish(id, T0);
    await store.close();
    const reader = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(reader.prepare('SELECT inbox_id, idx FROM reply_chunks').all()).toEqual([
        { inbox_id: other, idx: 0 },
      ]);
      expect(reader.prepare('SELECT key, expires_at_ms FROM dedupe ORDER BY key').all()).toEqual([
        { key: 'robot:m1', expires_at_ms: T0 + TTL_MS },
        { key: 'robot:m2', expires_at_ms: null },
      ]);
    } finally {
      reader.close();
    }
  });

  it('commits the accept calls of one event-loop turn in one transaction', async () => {
    const dir = tempDir();
    const store = open(dir);
    const wal = join(dir, `${SQLITE_FILE_NAME}-wal`);
    const count = 30;

    let size = statSync(wal).size;
    for (let i = 0; i < count; i += 1) await acceptId(store, entry(`seq${i}`));
    const sequentialGrowth = statSync(wal).size - size;

    size = statSync(wal).size;
    const pending = Array.from({ length: count }, (_, i) => store.accept(entry(`batch${i}`), route()));
    // Nothing is written before the batch runs.
    expect(statSync(wal).size).toBe(size);
    const results = await Promise.all(pending);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    expect(await store.inboxDepth()).toBe(2 * count);
    const batchGrowth = statSync(wal).size - size;
    // One commit writes each touched page once; thirty commits write them thirty times.
    expect(batchGrowth).toBeGreaterThan(0);
    expect(batchGrowth * 5).toBeLessThan(sequentialGrowth);
  });
});

describe('SqliteStateStore checkpoints', () => {
  it('lets the WAL grow past the 1,000 pages SQLite checkpoints at by default', async () => {
    const dir = tempDir();
    const store = open(dir);
    const wal = join(dir, `${SQLITE_FILE_NAME}-wal`);
    const text = 'x'.repeat(20_000);
    // About 6 MiB of job JSON in 300 commits: with the default, the WAL would restart from its
    // beginning after each 1,000 pages (4 MiB) and never exceed about that size.
    for (let i = 0; i < 300; i += 1) {
      const base = entry(`big${i}`);
      await store.accept({ ...base, job: { ...base.job, text } }, route());
    }
    expect(statSync(wal).size).toBeGreaterThan(6_000_000);
    expect(await store.inboxDepth()).toBe(300);
  });
});

describe('SqliteStateStore lock', () => {
  it('refuses a second store on the same folder while the first is open, with a clear error', async () => {
    const dir = tempDir();
    const first = open(dir);
    await acceptId(first, entry('m1'));
    let refused: unknown;
    try {
      stores.push(new SqliteStateStore({ dir, dedupeTtlMs: TTL_MS, lockWaitMs: 50 }));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(StateLockedError);
    expect(refused).toMatchObject({ code: 'GW_STATE_LOCKED', retryable: true });
    expect((refused as Error).message).toContain(join(dir, SQLITE_FILE_NAME));
    // The refused store changed nothing; once the first is closed the next one opens and resumes.
    expect(await first.inboxDepth()).toBe(1);
    await first.close();
    const next = open(dir);
    expect((await next.unfinished()).map((record) => record.dedupeKey)).toEqual(['robot:m1']);
    // Reopened, with nothing to migrate and nothing written yet, the file is just as locked.
    expect(() => new SqliteStateStore({ dir, dedupeTtlMs: TTL_MS, lockWaitMs: 50 })).toThrow(
      StateLockedError,
    );
  });

  it('holds the lock from start-up on: another connection cannot even read the file', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.inboxDepth();
    const reader = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true, timeout: 0 });
    try {
      expect(() => reader.prepare('SELECT COUNT(*) AS n FROM inbox').get()).toThrow(/locked/);
    } finally {
      reader.close();
    }
  });
});

describe('migrations', () => {
  it('sets user_version to the number of migrations', async () => {
    const dir = tempDir();
    await open(dir).close();
    const db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const tables = db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((row) => row.name);
      expect(tables).toEqual(
        expect.arrayContaining(['answered_sessions', 'dedupe', 'inbox', 'reply_chunks', 'routes']),
      );
    } finally {
      db.close();
    }
  });

  it('keeps the entries, their reply chunks and the id counter when the inbox is rebuilt (version 3 to 4)', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, SQLITE_FILE_NAME));
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    for (const migration of MIGRATIONS.slice(0, 3)) db.exec(migration);
    db.pragma('user_version = 3');
    const insert = db.prepare(
      "INSERT INTO inbox (dedupe_key, account_id, queue_key, job_json, accepted_at_ms) VALUES (?, 'a', ?, ?, ?)",
    );
    const job = (msgId: string) => JSON.stringify(entry(msgId).job);
    for (const msgId of ['m1', 'm2', 'm3']) {
      db.prepare('INSERT INTO dedupe (key, expires_at_ms) VALUES (?, NULL)').run(`robot:${msgId}`);
      insert.run(`robot:${msgId}`, CONVERSATION_KEY, job(msgId), T0);
    }
    // m3 was finished: its row is gone, but its id (3) must never be handed out again.
    db.prepare('DELETE FROM inbox WHERE id = 3').run();
    db.prepare('INSERT INTO reply_chunks (inbox_id, idx, message_json) VALUES (1, 0, ?)').run(
      JSON.stringify(MD),
    );
    db.close();

    const store = open(dir);
    const records = await store.unfinished();
    expect(records.map((r) => [r.id, r.dedupeKey, r.chunks.length])).toEqual([
      [1, 'robot:m1', 1],
      [2, 'robot:m2', 0],
    ]);
    expect(await acceptId(store, entry('m4'))).toBe(4);
    expect(await store.accept(entry('m2'), route())).toEqual({ status: 'duplicate' });
    // The chunks still belong to their entry: finishing it deletes them.
    await store.finish(1, T0);
    await store.close();
    const reader = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(reader.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(reader.prepare('SELECT COUNT(*) AS n FROM reply_chunks').get()).toEqual({ n: 0 });
      const indexes = reader
        .prepare<[], { name: string; unique: number }>(
          'SELECT name, "unique" FROM pragma_index_list(\'inbox\')',
        )
        .all();
      expect(indexes).toEqual([{ name: 'inbox_queue', unique: 0 }]);
    } finally {
      reader.close();
    }
  });

  it('is a no-op on an up-to-date database', () => {
    const db = new Database(':memory:');
    try {
      migrate(db);
      migrate(db);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer gateway', () => {
    const dir = tempDir();
    const db = new Database(join(dir, SQLITE_FILE_NAME));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStateStore({ dir, dedupeTtlMs: TTL_MS })).toThrow(
      `state database schema version ${MIGRATIONS.length + 1} is newer than this gateway supports (${MIGRATIONS.length})`,
    );
  });
});
