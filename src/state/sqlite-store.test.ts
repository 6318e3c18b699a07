import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { InboundMessage } from '../bridge/inbound-message.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { MIGRATIONS, migrate } from './sqlite-migrations.js';
import { SQLITE_FILE_NAME, SqliteStateStore } from './sqlite-store.js';
import type { NewInboxEntry, ReplyRoute, StoredJob } from './store.js';

const TTL_MS = 60_000;
const T0 = 1_700_000_000_000;
const ACCOUNT = 'main';
const CONVERSATION = 'cidDm1';
const CONVERSATION_KEY = `${ACCOUNT}:${CONVERSATION}`;

function inbound(msgId: string, overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    accountId: ACCOUNT,
    dedupeKey: `robot:${msgId}`,
    msgId,
    msgtype: 'text',
    chatType: 'dm',
    conversationId: CONVERSATION,
    conversationTitle: undefined,
    senderKey: 'manager807',
    senderStaffId: 'manager807',
    senderId: '$:LWCP_v1:$abc',
    senderNick: '张三',
    isMentioned: false,
    text: `hello ${msgId} 你好 [picture]`,
    segments: [
      { type: 'text', text: `hello ${msgId} 你好` },
      { type: 'picture', downloadCode: 'dl-code-1' },
    ],
    quoted: { msgtype: 'text', segments: [{ type: 'text', text: 'quoted 引用' }] },
    sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=s1',
    sessionWebhookExpiresAtMs: T0 + 5_400_000,
    createdAtMs: T0,
    ...overrides,
  };
}

function entry(msgId: string, acceptedAtMs = T0, overrides: Partial<NewInboxEntry> = {}): NewInboxEntry {
  const message = inbound(msgId);
  return {
    dedupeKey: message.dedupeKey,
    accountId: ACCOUNT,
    queueKey: CONVERSATION_KEY,
    job: { message, text: message.text, sessionKey: `dingtalk:${CONVERSATION}` },
    acceptedAtMs,
    ...overrides,
  };
}

function route(overrides: Partial<ReplyRoute> = {}): ReplyRoute {
  return {
    conversationKey: CONVERSATION_KEY,
    accountId: ACCOUNT,
    chatType: 'dm',
    webhookUrl: 'https://oapi.dingtalk.com/robot/sendBySession?session=s1',
    webhookExpiresAtMs: T0 + 5_400_000,
    staffId: 'manager807',
    openConversationId: undefined,
    ...overrides,
  };
}

const MD: OutgoingMessage = { kind: 'markdown', title: 'Reply', text: '**one**' };
const TXT: OutgoingMessage = { kind: 'text', text: 'two 二' };

/** Accepts `e` and returns its id, failing the test when it was not accepted. */
async function acceptId(store: SqliteStateStore, e: NewInboxEntry, r: ReplyRoute = route()): Promise<number> {
  const result = await store.accept(e, r);
  expect(result.status).toBe('accepted');
  return (result as { id: number }).id;
}

let dirs: string[] = [];
let stores: SqliteStateStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sqlite-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string): SqliteStateStore {
  const store = new SqliteStateStore({ dir, dedupeTtlMs: TTL_MS });
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

describe.each([
  ['a file in a temp dir', (): string => tempDir()],
  ['memory', (): string => ':memory:'],
])('SqliteStateStore (%s)', (_name, location) => {
  let store: SqliteStateStore;

  beforeEach(() => {
    store = open(location());
  });

  it('accepts a new message and lists unfinished entries in acceptance order with their job', async () => {
    const first = entry('m1', T0);
    const second = entry('m2', T0 + 5, { queueKey: 'main:other' });
    const id1 = await acceptId(store, first);
    const id2 = await acceptId(store, second);
    expect(id2).toBeGreaterThan(id1);

    const records = await store.unfinished();
    expect(records.map((r) => r.id)).toEqual([id1, id2]);
    expect(records[0]).toEqual({
      ...first,
      id: id1,
      attempts: 0,
      chunks: [],
      isReplyComplete: false,
    });
    expect(records[1]?.queueKey).toBe('main:other');
    expect(records[1]?.job).toEqual(second.job);
    expect(await store.inboxDepth()).toBe(2);
  });

  it('reports a duplicate while the first copy is unfinished', async () => {
    await acceptId(store, entry('m1', T0));
    expect(await store.accept(entry('m1', T0 + 10 * TTL_MS), route())).toEqual({ status: 'duplicate' });
    expect(await store.inboxDepth()).toBe(1);
  });

  it('reports a duplicate after finish until the dedupe TTL passes, then accepts again', async () => {
    const id = await acceptId(store, entry('m1', T0));
    await store.finish(id, T0 + 1_000);
    expect(await store.inboxDepth()).toBe(0);

    expect(await store.accept(entry('m1', T0 + 1_000 + TTL_MS - 1), route())).toEqual({
      status: 'duplicate',
    });
    const again = await acceptId(store, entry('m1', T0 + 1_000 + TTL_MS));
    expect(again).not.toBe(id);
    expect((await store.unfinished()).map((r) => r.id)).toEqual([again]);
  });

  it('keeps a re-accepted key claimed with no expiry while it is unfinished', async () => {
    const id = await acceptId(store, entry('m1', T0));
    await store.finish(id, T0);
    await acceptId(store, entry('m1', T0 + TTL_MS));
    // Long after the old expiry, the key still belongs to the unfinished entry.
    expect(await store.sweep(T0 + 100 * TTL_MS)).toBe(0);
    expect(await store.accept(entry('m1', T0 + 100 * TTL_MS), route())).toEqual({ status: 'duplicate' });
  });

  it('remembers rejected keys until the TTL passes', async () => {
    expect(await store.remember('robot:r1', T0)).toBe('remembered');
    expect(await store.remember('robot:r1', T0 + TTL_MS - 1)).toBe('duplicate');
    expect(await store.accept(entry('r1', T0 + 1), route())).toEqual({ status: 'duplicate' });
    expect(await store.inboxDepth()).toBe(0);
    expect(await store.remember('robot:r1', T0 + TTL_MS)).toBe('remembered');
  });

  it('refuses to remember a key whose message is in the inbox', async () => {
    await acceptId(store, entry('m1', T0));
    expect(await store.remember('robot:m1', T0 + 100 * TTL_MS)).toBe('duplicate');
  });

  it('gives each call of one batch its own result, duplicates inside the batch included', async () => {
    const results = await Promise.all([
      store.accept(entry('a'), route()),
      store.accept(entry('b'), route()),
      store.accept(entry('a'), route()),
      store.remember('robot:c', T0),
      store.accept(entry('c'), route()),
      store.remember('robot:b', T0),
      store.accept(entry('d'), route()),
    ]);
    expect(results.map((r) => (typeof r === 'string' ? r : r.status))).toEqual([
      'accepted',
      'accepted',
      'duplicate',
      'remembered',
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    const ids = results.flatMap((r) => (typeof r === 'object' && r.status === 'accepted' ? [r.id] : []));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(3);
    expect((await store.unfinished()).map((r) => r.dedupeKey)).toEqual(['robot:a', 'robot:b', 'robot:d']);
  });

  it('fails only the write that throws inside a batch and leaves its key unclaimed', async () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const broken = entry('bad', T0, {
      job: { ...entry('bad').job, message: circular } as unknown as StoredJob,
    });
    const [ok1, bad, ok2] = await Promise.allSettled([
      store.accept(entry('x'), route()),
      store.accept(broken, route()),
      store.accept(entry('y'), route()),
    ]);
    expect(ok1).toMatchObject({ status: 'fulfilled', value: { status: 'accepted' } });
    expect(bad).toMatchObject({ status: 'rejected', reason: expect.any(TypeError) as unknown });
    expect(ok2).toMatchObject({ status: 'fulfilled', value: { status: 'accepted' } });
    expect((await store.unfinished()).map((r) => r.dedupeKey)).toEqual(['robot:x', 'robot:y']);
    // The failed write rolled back its dedupe claim too: a redelivery is accepted.
    await acceptId(store, entry('bad'));
  });

  it('appends planned reply messages with increasing indexes across calls and marks completion', async () => {
    const id = await acceptId(store, entry('m1'));
    await store.planReply(id, [MD, TXT], false);
    let [record] = await store.unfinished();
    expect(record?.chunks.map((c) => c.index)).toEqual([0, 1]);
    expect(record?.isReplyComplete).toBe(false);

    await store.planReply(id, [TXT], false);
    await store.planReply(id, [], true);
    [record] = await store.unfinished();
    expect(record?.chunks).toEqual([
      { index: 0, message: MD, sentAtMs: undefined },
      { index: 1, message: TXT, sentAtMs: undefined },
      { index: 2, message: TXT, sentAtMs: undefined },
    ]);
    expect(record?.isReplyComplete).toBe(true);
  });

  it('keeps the chunks of different entries apart', async () => {
    const id1 = await acceptId(store, entry('m1'));
    const id2 = await acceptId(store, entry('m2'));
    await store.planReply(id2, [TXT], true);
    await store.planReply(id1, [MD], false);
    const records = await store.unfinished();
    expect(records.map((r) => r.chunks)).toEqual([
      [{ index: 0, message: MD, sentAtMs: undefined }],
      [{ index: 0, message: TXT, sentAtMs: undefined }],
    ]);
    expect(records.map((r) => r.isReplyComplete)).toEqual([false, true]);
  });

  it('records when a chunk was sent', async () => {
    const id = await acceptId(store, entry('m1'));
    await store.planReply(id, [MD, TXT], true);
    await store.markChunkSent(id, 1, T0 + 42);
    const [record] = await store.unfinished();
    expect(record?.chunks.map((c) => c.sentAtMs)).toEqual([undefined, T0 + 42]);
  });

  it('counts turn starts', async () => {
    const id = await acceptId(store, entry('m1'));
    expect(await store.markStarted(id)).toBe(1);
    expect(await store.markStarted(id)).toBe(2);
    expect((await store.unfinished())[0]?.attempts).toBe(2);
    expect(await store.markStarted(id + 1000)).toBe(0);
  });

  it('finish deletes the entry with its chunks and starts the dedupe expiry', async () => {
    const id = await acceptId(store, entry('m1'));
    const other = await acceptId(store, entry('m2'));
    await store.planReply(id, [MD, TXT], true);
    await store.markChunkSent(id, 0, T0);
    await store.finish(id, T0 + 500);
    expect((await store.unfinished()).map((r) => r.id)).toEqual([other]);

    expect(await store.sweep(T0 + 500 + TTL_MS - 1)).toBe(0);
    expect(await store.sweep(T0 + 500 + TTL_MS)).toBe(1);
    // Once swept, the key is free even when asked with an old clock.
    await acceptId(store, entry('m1', T0));
  });

  it('finish of an unknown id changes nothing', async () => {
    const id = await acceptId(store, entry('m1'));
    await store.finish(id + 1000, T0);
    expect(await store.inboxDepth()).toBe(1);
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

  it('stores the route of an accepted message', async () => {
    expect(await store.route(CONVERSATION_KEY)).toBeUndefined();
    await acceptId(store, entry('m1'), route());
    expect(await store.route(CONVERSATION_KEY)).toEqual(route());
  });

  it('does not refresh the route from a duplicate', async () => {
    await acceptId(store, entry('m1'), route());
    await store.accept(entry('m1'), route({ webhookUrl: 'https://x/late', webhookExpiresAtMs: T0 + 9e9 }));
    expect((await store.route(CONVERSATION_KEY))?.webhookUrl).toBe(route().webhookUrl);
  });

  it('replaces the webhook with a fresher one', async () => {
    await acceptId(store, entry('m1'), route());
    const fresher = route({ webhookUrl: 'https://oapi.dingtalk.com/s2', webhookExpiresAtMs: T0 + 9_000_000 });
    await acceptId(store, entry('m2'), fresher);
    expect(await store.route(CONVERSATION_KEY)).toEqual(fresher);
  });

  it('keeps the longer-lived webhook when an older message is accepted later', async () => {
    const fresh = route({
      webhookUrl: 'https://oapi.dingtalk.com/fresh',
      webhookExpiresAtMs: T0 + 9_000_000,
    });
    await acceptId(store, entry('new'), fresh);
    const stale = route({ webhookUrl: 'https://oapi.dingtalk.com/stale', webhookExpiresAtMs: T0 + 1_000 });
    await acceptId(store, entry('old'), stale);
    const stored = await store.route(CONVERSATION_KEY);
    expect(stored?.webhookUrl).toBe('https://oapi.dingtalk.com/fresh');
    expect(stored?.webhookExpiresAtMs).toBe(T0 + 9_000_000);
  });

  it('keeps the webhook, staffId and openConversationId when a later message lacks them', async () => {
    const groupKey = `${ACCOUNT}:cidGroup`;
    const full = route({
      conversationKey: groupKey,
      chatType: 'group',
      staffId: 'manager807',
      openConversationId: 'cidGroup',
    });
    await acceptId(store, entry('g1'), full);
    await acceptId(
      store,
      entry('g2'),
      route({
        conversationKey: groupKey,
        chatType: 'group',
        webhookUrl: undefined,
        webhookExpiresAtMs: undefined,
        staffId: undefined,
        openConversationId: undefined,
      }),
    );
    expect(await store.route(groupKey)).toEqual(full);
    // Other conversations are untouched.
    expect(await store.route(CONVERSATION_KEY)).toBeUndefined();
  });

  it('remembers which sessions were answered', async () => {
    expect(await store.hasAnswered('s1')).toBe(false);
    await store.markAnswered('s1', T0);
    await store.markAnswered('s1', T0 + 1);
    expect(await store.hasAnswered('s1')).toBe(true);
    expect(await store.hasAnswered('s2')).toBe(false);
  });

  it('commits a write still waiting for its batch when closed', async () => {
    const pending = store.accept(entry('m1'), route());
    await store.close();
    await expect(pending).resolves.toMatchObject({ status: 'accepted' });
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
    const reader = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    try {
      const pending = Array.from({ length: count }, (_, i) => store.accept(entry(`batch${i}`), route()));
      // Nothing is committed before the batch runs.
      expect(reader.prepare('SELECT COUNT(*) AS n FROM inbox').get()).toEqual({ n: count });
      const results = await Promise.all(pending);
      expect(results.every((r) => r.status === 'accepted')).toBe(true);
      expect(reader.prepare('SELECT COUNT(*) AS n FROM inbox').get()).toEqual({ n: 2 * count });
    } finally {
      reader.close();
    }
    const batchGrowth = statSync(wal).size - size;
    // One commit writes each touched page once; thirty commits write them thirty times.
    expect(batchGrowth).toBeGreaterThan(0);
    expect(batchGrowth * 5).toBeLessThan(sequentialGrowth);
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
