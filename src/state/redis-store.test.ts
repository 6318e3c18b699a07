import { afterEach, describe, expect, it } from 'vitest';

import { describeStateStore } from '../../test/helpers/state-store-contract.js';
import {
  CONVERSATION_KEY,
  MD,
  T0,
  TTL_MS,
  acceptId,
  entry,
  route,
} from '../../test/helpers/state-store-fixtures.js';
import {
  deleteKeys,
  describeRedisAvailability,
  findTestRedis,
  listKeys,
  uniqueKeyPrefix,
} from '../../test/helpers/redis.js';
import { RedisStateStore } from './redis-store.js';

const redis = await findTestRedis();
describeRedisAvailability(redis, 'src/state/redis-store.test.ts');

// Registered only when a Redis answers (no skipped tests): the test above says which way it ran.
if (redis.isAvailable) describeRedisStore(redis.url);

function describeRedisStore(url: string): void {
  let prefixes: string[] = [];
  let stores: RedisStateStore[] = [];

  function open(prefix: string, dedupeTtlMs = TTL_MS): RedisStateStore {
    const store = new RedisStateStore({ url, keyPrefix: prefix, dedupeTtlMs });
    stores.push(store);
    return store;
  }

  function freshPrefix(): string {
    const prefix = uniqueKeyPrefix('store');
    prefixes.push(prefix);
    return prefix;
  }

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const prefix of prefixes.splice(0)) await deleteKeys(url, prefix);
    prefixes = [];
    stores = [];
  });

  describeStateStore('RedisStateStore', (dedupeTtlMs) => open(freshPrefix(), dedupeTtlMs));

  describe('RedisStateStore shared by replicas', () => {
    it('shows one replica the inbox, dedupe keys, routes and leases of another', async () => {
      const prefix = freshPrefix();
      const a = open(prefix);
      const b = open(prefix);
      const id = await acceptId(a, entry('m1'));
      expect(await b.accept(entry('m1'), route())).toEqual({ status: 'duplicate' });
      expect(await b.pendingQueueKeys()).toEqual([CONVERSATION_KEY]);
      expect((await b.nextEntry(CONVERSATION_KEY))?.id).toBe(id);
      expect(await b.route(CONVERSATION_KEY)).toEqual(route());

      expect(await a.acquireLease(CONVERSATION_KEY, 'replica-a', 10_000)).toBe(true);
      expect(await b.acquireLease(CONVERSATION_KEY, 'replica-b', 10_000)).toBe(false);
      await a.planReply(id, [MD], true);
      await a.markChunkSent(id, 0, T0 + 1);
      expect((await b.unfinished())[0]?.chunks).toEqual([{ index: 0, message: MD, sentAtMs: T0 + 1 }]);
      await b.finish(id, T0 + 2);
      expect(await a.inboxDepth()).toBe(0);
    });

    it('hands out unique, increasing ids to replicas accepting at the same time', async () => {
      const prefix = freshPrefix();
      const replicas = [open(prefix), open(prefix), open(prefix)];
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, index) =>
          replicas[index % 3]!.accept(entry(`m${index % 20}`, T0, { queueKey: `q${index % 4}` }), route()),
        ),
      );
      const ids = results.flatMap((result) => (result.status === 'accepted' ? [result.id] : []));
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      const records = await replicas[0]!.unfinished();
      expect(records.map((record) => record.id)).toEqual([...ids].sort((x, y) => x - y));
      for (const queue of ['q0', 'q1', 'q2', 'q3']) {
        const queued = records.filter((record) => record.queueKey === queue);
        expect(await replicas[1]!.queueLength(queue)).toBe(queued.length);
        expect((await replicas[2]!.nextEntry(queue))?.id).toBe(queued[0]?.id);
      }
    });

    it('keeps gateways with different key prefixes apart', async () => {
      const one = open(freshPrefix());
      const other = open(freshPrefix());
      await acceptId(one, entry('m1'));
      await acceptId(other, entry('m1'));
      expect(await one.acquireLease(CONVERSATION_KEY, 'x', 10_000)).toBe(true);
      expect(await other.acquireLease(CONVERSATION_KEY, 'y', 10_000)).toBe(true);
      expect(await other.inboxDepth()).toBe(1);
    });

    it('lets Redis expire a finished dedupe key after the TTL, and keeps no other key of the entry', async () => {
      const prefix = freshPrefix();
      const store = open(prefix, 300);
      const now = Date.now();
      const id = await acceptId(store, entry('m1', now));
      await store.planReply(id, [MD], true);
      await store.markChunkSent(id, 0, now);
      await store.markAnswered('dingtalk:s', now);
      await store.finish(id, now);
      expect(await listKeys(url, prefix)).toEqual(
        ['answered', 'dedupe:robot:m1', 'route:main:cidDm1', 'seq'].map((key) => `${prefix}${key}`),
      );
      await expect
        .poll(() => listKeys(url, prefix), { timeout: 5_000, interval: 50 })
        .not.toContain(`${prefix}dedupe:robot:m1`);
      expect(await store.sweep(Date.now())).toBe(0);
      await acceptId(store, entry('m1', now));
    });

    it('rejects calls after close instead of throwing', async () => {
      const store = open(freshPrefix());
      await store.close();
      await expect(store.inboxDepth()).rejects.toThrow(/closed/i);
      await expect(store.accept(entry('late'), route())).rejects.toThrow(/closed/i);
    });
  });
}
