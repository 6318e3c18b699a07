import { setTimeout as sleep } from 'node:timers/promises';

import { expect, it } from 'vitest';

import type { StateStore } from '../../src/state/store.js';
import { ACCOUNT, CONVERSATION_KEY, MD, T0, acceptId, entry, route } from './state-store-fixtures.js';

/** Lease TTL of the lease tests: long enough to see it held, short enough to see it lapse. */
const LEASE_TTL_MS = 150;

/** Queue keys, their order and their leases (part of the state store contract). */
export function describeQueues(current: () => StateStore): void {
  it('hands out the entries of a queue key oldest first and tracks keys with work', async () => {
    const store = current();
    expect(await store.nextEntry(CONVERSATION_KEY)).toBeUndefined();
    expect(await store.pendingQueueKeys()).toEqual([]);
    const first = await acceptId(store, entry('q1'));
    const elsewhere = await acceptId(store, entry('o1', T0, { queueKey: 'main:other' }));
    const second = await acceptId(store, entry('q2'));
    await store.planReply(first, [MD], true);

    expect(await store.nextEntry(CONVERSATION_KEY)).toMatchObject({
      id: first,
      dedupeKey: 'robot:q1',
      chunks: [{ index: 0, message: MD, sentAtMs: undefined }],
      isReplyComplete: true,
    });
    expect(await store.queueLength(CONVERSATION_KEY)).toBe(2);
    expect((await store.pendingQueueKeys()).sort()).toEqual([CONVERSATION_KEY, 'main:other']);

    await store.finish(first, T0);
    expect((await store.nextEntry(CONVERSATION_KEY))?.id).toBe(second);
    await store.finish(elsewhere, T0);
    expect(await store.pendingQueueKeys()).toEqual([CONVERSATION_KEY]);
    await store.finish(second, T0);
    expect(await store.pendingQueueKeys()).toEqual([]);
    expect(await store.queueLength(CONVERSATION_KEY)).toBe(0);
    expect(await store.nextEntry(CONVERSATION_KEY)).toBeUndefined();
  });

  it('gives a queue key lease to one owner at a time, renewable and releasable by its holder only', async () => {
    const store = current();
    expect(await store.acquireLease('k', 'replica-a', LEASE_TTL_MS)).toBe(true);
    expect(await store.acquireLease('k', 'replica-b', LEASE_TTL_MS)).toBe(false);
    expect(await store.acquireLease('other', 'replica-b', LEASE_TTL_MS)).toBe(true);
    // Renewal by the holder.
    expect(await store.acquireLease('k', 'replica-a', LEASE_TTL_MS)).toBe(true);
    await store.releaseLease('k', 'replica-b');
    expect(await store.acquireLease('k', 'replica-b', LEASE_TTL_MS)).toBe(false);
    await store.releaseLease('k', 'replica-a');
    expect(await store.acquireLease('k', 'replica-b', LEASE_TTL_MS)).toBe(true);
  });

  it('lets a lease lapse when its holder stops renewing it', async () => {
    const store = current();
    expect(await store.acquireLease('k', 'crashed', LEASE_TTL_MS)).toBe(true);
    await sleep(LEASE_TTL_MS / 2);
    expect(await store.acquireLease('k', 'survivor', LEASE_TTL_MS)).toBe(false);
    await expect
      .poll(() => store.acquireLease('k', 'survivor', LEASE_TTL_MS), { timeout: 5_000, interval: 20 })
      .toBe(true);
    expect(await store.acquireLease('k', 'crashed', LEASE_TTL_MS)).toBe(false);
  });

  it('passes a stop request to the lease holder only, and refuses one without another holder', async () => {
    const store = current();
    const received: { queueKey: string; owner: string }[] = [];
    await store.onStopRequest((request) => received.push(request));
    expect(await store.requestStop('k', 'replica-b')).toBe(false);
    expect(await store.acquireLease('k', 'replica-a', 10_000)).toBe(true);
    expect(await store.requestStop('k', 'replica-a')).toBe(false);
    expect(await store.requestStop('k', 'replica-b')).toBe(true);
    await expect
      .poll(() => received, { timeout: 5_000, interval: 20 })
      .toEqual([{ queueKey: 'k', owner: 'replica-a' }]);
    await store.releaseLease('k', 'replica-a');
    expect(await store.requestStop('k', 'replica-b')).toBe(false);
  });
}

/** Reply routes (part of the state store contract). */
export function describeRoutes(current: () => StateStore): void {
  it('stores the route of an accepted message', async () => {
    const store = current();
    expect(await store.route(CONVERSATION_KEY)).toBeUndefined();
    await acceptId(store, entry('m1'), route());
    expect(await store.route(CONVERSATION_KEY)).toEqual(route());
  });

  it('does not refresh the route from a duplicate', async () => {
    const store = current();
    await acceptId(store, entry('m1'), route());
    await store.accept(entry('m1'), route({ webhookUrl: 'https://x/late', webhookExpiresAtMs: T0 + 9e9 }));
    expect((await store.route(CONVERSATION_KEY))?.webhookUrl).toBe(route().webhookUrl);
  });

  it('replaces the webhook with a fresher one, also after the older route was read', async () => {
    const store = current();
    await acceptId(store, entry('m1'), route());
    expect(await store.route(CONVERSATION_KEY)).toEqual(route());
    const fresher = route({ webhookUrl: 'https://oapi.dingtalk.com/s2', webhookExpiresAtMs: T0 + 9_000_000 });
    await acceptId(store, entry('m2'), fresher);
    expect(await store.route(CONVERSATION_KEY)).toEqual(fresher);
  });

  it('keeps the longer-lived webhook when an older message is accepted later', async () => {
    const store = current();
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
    const store = current();
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
}
