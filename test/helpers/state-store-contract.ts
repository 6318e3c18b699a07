import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { InboxRecord, StateStore, StoredJob } from '../../src/state/store.js';
import { describeQueues, describeRoutes } from './state-store-contract-routing.js';
import { CONVERSATION_KEY, MD, T0, TTL_MS, TXT, acceptId, entry, route } from './state-store-fixtures.js';

/** Opens an empty store with the given dedupe TTL; the suite closes it after each test. */
export type StateStoreFactory = (dedupeTtlMs: number) => StateStore | Promise<StateStore>;

/**
 * The {@link StateStore} contract, registered as `describe(name)`: every driver must pass it. The
 * caller removes what the factory created (folders, keys) in its own `afterEach`.
 */
export function describeStateStore(name: string, open: StateStoreFactory): void {
  // eslint-disable-next-line vitest/valid-title -- the driver's name: a string, but not a literal
  describe(name, () => {
    let store: StateStore;

    beforeEach(async () => {
      store = await open(TTL_MS);
    });

    afterEach(async () => {
      await store.close();
    });

    describeIntake(() => store);
    describeReplies(() => store);
    describeQueues(() => store);
    describeRoutes(() => store);
  });
}

function describeIntake(current: () => StateStore): void {
  it('accepts a new message and lists unfinished entries in acceptance order with their job', async () => {
    const store = current();
    const first = entry('m1', T0);
    const second = entry('m2', T0 + 5, { queueKey: 'main:other' });
    const id1 = await acceptId(store, first);
    const id2 = await acceptId(store, second);
    expect(id2).toBeGreaterThan(id1);

    const records = await store.unfinished();
    expect(records.map((r) => r.id)).toEqual([id1, id2]);
    expect(records[0]).toEqual({ ...first, id: id1, attempts: 0, chunks: [], isReplyComplete: false });
    expect(records[1]?.queueKey).toBe('main:other');
    expect(records[1]?.job).toEqual(second.job);
    expect(await store.inboxDepth()).toBe(2);
  });

  it('tells the caller once a new entry is committed, before accept resolves; not for a duplicate', async () => {
    const store = current();
    const told: { isResolved: boolean; next: Promise<InboxRecord | undefined> }[] = [];
    let isResolved = false;
    const onCommitted = (): void => {
      told.push({ isResolved, next: store.nextEntry(CONVERSATION_KEY) });
    };
    const result = await store.accept(entry('m1', T0), route(), { onCommitted }).finally(() => {
      isResolved = true;
    });
    expect(told).toHaveLength(1);
    expect(told[0]?.isResolved).toBe(false);
    expect(result.status === 'accepted' && (await told[0]?.next)?.id).toBe(
      result.status === 'accepted' && result.id,
    );
    expect(await store.accept(entry('m1', T0 + 1), route(), { onCommitted })).toEqual({
      status: 'duplicate',
    });
    expect(told).toHaveLength(1);
  });

  it('reports a duplicate while the first copy is unfinished', async () => {
    const store = current();
    await acceptId(store, entry('m1', T0));
    expect(await store.accept(entry('m1', T0 + 10 * TTL_MS), route())).toEqual({ status: 'duplicate' });
    expect(await store.inboxDepth()).toBe(1);
  });

  it('reports a duplicate after finish until the dedupe TTL passes, then accepts again', async () => {
    const store = current();
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
    const store = current();
    const id = await acceptId(store, entry('m1', T0));
    await store.finish(id, T0);
    await acceptId(store, entry('m1', T0 + TTL_MS));
    // Long after the old expiry, the key still belongs to the unfinished entry.
    expect(await store.sweep(T0 + 100 * TTL_MS)).toBe(0);
    expect(await store.accept(entry('m1', T0 + 100 * TTL_MS), route())).toEqual({ status: 'duplicate' });
  });

  it('remembers rejected keys until the TTL passes', async () => {
    const store = current();
    expect(await store.remember('robot:r1', T0)).toBe('remembered');
    expect(await store.remember('robot:r1', T0 + TTL_MS - 1)).toBe('duplicate');
    expect(await store.accept(entry('r1', T0 + 1), route())).toEqual({ status: 'duplicate' });
    expect(await store.inboxDepth()).toBe(0);
    expect(await store.remember('robot:r1', T0 + TTL_MS)).toBe('remembered');
  });

  it('refuses to remember a key whose message is in the inbox', async () => {
    const store = current();
    await acceptId(store, entry('m1', T0));
    expect(await store.remember('robot:m1', T0 + 100 * TTL_MS)).toBe('duplicate');
  });

  it('never frees the key of an unfinished entry in a sweep', async () => {
    const store = current();
    await store.remember('robot:r1', T0);
    await acceptId(store, entry('m1'));
    await store.sweep(T0 + 10 * TTL_MS);
    expect(await store.accept(entry('m1', T0 + 10 * TTL_MS), route())).toEqual({ status: 'duplicate' });
    expect(await store.remember('robot:r1', T0 + TTL_MS)).toBe('remembered');
  });

  it('gives each of several concurrent calls its own result, duplicates among them included', async () => {
    const store = current();
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

  it('fails only the write that throws among concurrent calls and leaves its key unclaimed', async () => {
    const store = current();
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
    // Nothing of the failed write was kept, its dedupe claim included: a redelivery is accepted.
    await acceptId(store, entry('bad'));
  });

  it('completes a write issued just before close', async () => {
    const store = current();
    const pending = store.accept(entry('m1'), route());
    await store.close();
    await expect(pending).resolves.toMatchObject({ status: 'accepted' });
  });
}

function describeReplies(current: () => StateStore): void {
  it('appends planned reply messages with increasing indexes across calls and marks completion', async () => {
    const store = current();
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
    const store = current();
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
    const store = current();
    const id = await acceptId(store, entry('m1'));
    await store.planReply(id, [MD, TXT], true);
    await store.markChunkSent(id, 1, T0 + 42);
    const [record] = await store.unfinished();
    expect(record?.chunks.map((c) => c.sentAtMs)).toEqual([undefined, T0 + 42]);
  });

  it('counts turn starts', async () => {
    const store = current();
    const id = await acceptId(store, entry('m1'));
    expect(await store.markStarted(id)).toBe(1);
    expect(await store.markStarted(id)).toBe(2);
    expect((await store.unfinished())[0]?.attempts).toBe(2);
    expect(await store.markStarted(id + 1000)).toBe(0);
  });

  it('finish deletes the entry with its chunks and starts the dedupe expiry', async () => {
    const store = current();
    const id = await acceptId(store, entry('m1'));
    const other = await acceptId(store, entry('m2'));
    await store.planReply(id, [MD, TXT], true);
    await store.markChunkSent(id, 0, T0);
    await store.finish(id, T0 + 500);
    expect((await store.unfinished()).map((r) => r.id)).toEqual([other]);
    expect(await store.accept(entry('m1', T0 + 500 + TTL_MS - 1), route())).toEqual({ status: 'duplicate' });
    await acceptId(store, entry('m1', T0 + 500 + TTL_MS));
  });

  it('finish of an unknown id changes nothing', async () => {
    const store = current();
    const id = await acceptId(store, entry('m1'));
    await store.finish(id + 1000, T0);
    expect(await store.inboxDepth()).toBe(1);
  });

  it('refuses to plan a reply for a finished entry and ignores its late sent marks', async () => {
    const store = current();
    const id = await acceptId(store, entry('m1'));
    await store.planReply(id, [MD], false);
    await store.finish(id, T0);
    await expect(store.planReply(id, [TXT], true)).rejects.toThrow();
    await store.markChunkSent(id, 0, T0);
    expect(await store.unfinished()).toEqual([]);
    // Nothing of the finished entry came back: a later entry starts with no chunks.
    const next = await acceptId(store, entry('m2'));
    expect((await store.nextEntry(CONVERSATION_KEY))?.id).toBe(next);
    expect((await store.nextEntry(CONVERSATION_KEY))?.chunks).toEqual([]);
  });

  it('remembers which sessions were answered', async () => {
    const store = current();
    expect(await store.hasAnswered('s1')).toBe(false);
    await store.markAnswered('s1', T0);
    await store.markAnswered('s1', T0 + 1);
    expect(await store.hasAnswered('s1')).toBe(true);
    expect(await store.hasAnswered('s2')).toBe(false);
  });

  it('counts session generations per base key', async () => {
    const store = current();
    expect(await store.sessionGeneration('dingtalk:a')).toBe(0);
    expect(await store.bumpSessionGeneration('dingtalk:a')).toBe(1);
    expect(await store.bumpSessionGeneration('dingtalk:a')).toBe(2);
    expect(await store.sessionGeneration('dingtalk:a')).toBe(2);
    expect(await store.sessionGeneration('dingtalk:b')).toBe(0);
  });
}
