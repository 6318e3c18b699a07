import { createRequire } from 'node:module';

import type * as Ioredis from 'ioredis';
import type { Redis } from 'ioredis';

import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import type { Logger } from '../log/logger.js';
import { settlesWithin } from '../util/settles-within.js';
import { RedisKeys } from './redis-keys.js';
import {
  ACCEPT,
  ACQUIRE_LEASE,
  ALL_SCRIPTS,
  FINISH,
  MARK_CHUNK_SENT,
  MARK_STARTED,
  PLAN_REPLY,
  READ_ALL,
  READ_HEAD,
  RELEASE_LEASE,
  REMEMBER,
} from './redis-scripts.js';
import type {
  AcceptOptions,
  AcceptResult,
  InboxRecord,
  NewInboxEntry,
  ReplyRoute,
  StateStore,
  StoredChunk,
  StoredJob,
} from './store.js';

/** Key prefix used when none is configured. */
export const DEFAULT_REDIS_KEY_PREFIX = 'dtgw:';

// A command waits through this many reconnect attempts before it fails: the ACK path then leaves the
// frame unacked (DingTalk redelivers it) instead of hanging while Redis is down.
const MAX_RETRIES_PER_REQUEST = 2;
const CONNECT_TIMEOUT_MS = 5_000;
/** How long `close` waits for outstanding replies before it drops the connection. */
const QUIT_TIMEOUT_MS = 3_000;

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** Put before every key, so several gateways can share one Redis. @defaultValue `'dtgw:'` */
  readonly keyPrefix?: string;
  /** How long a finished message's dedupe key is kept. */
  readonly dedupeTtlMs: number;
  /** Connection problems are logged here (`warn`, once per outage); without one they are dropped. */
  readonly logger?: Logger;
}

/** ioredis, loaded only when a Redis store is made (a single SQLite instance does not pay its memory). */
function loadIoredis(): typeof Ioredis {
  return createRequire(import.meta.url)('ioredis') as typeof Ioredis;
}

/**
 * The networked {@link StateStore} for several gateway replicas: one Redis shared by all of them.
 * Every write that must be atomic (accept, remember, finish, leases) is one Lua script, so no other
 * replica's command interleaves; dedupe keys and leases expire natively (`PX`), so `sweep` has
 * nothing to do. Key layout: `redis-keys.ts`.
 *
 * Durability is Redis's: an acknowledged `accept` is in Redis's memory, and on disk only as far as
 * Redis persists it (`appendonly yes`; `appendfsync always` matches the SQLite driver).
 */
export class RedisStateStore implements StateStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #dedupeTtlMs: number;
  readonly #log: Logger | undefined;
  /** Second connection for the `/stop` channel (a subscribed connection cannot run commands). */
  #subscriber: Redis | undefined;
  #isFailing = false;

  constructor(options: RedisStoreOptions) {
    this.#keys = new RedisKeys(options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX);
    this.#dedupeTtlMs = options.dedupeTtlMs;
    this.#redis = new (loadIoredis().Redis)(options.url, {
      connectionName: 'openclaw-dingtalk-gateway',
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    });
    const log = options.logger?.child({ component: 'state.redis' });
    this.#log = log;
    this.#redis.on('error', (error: unknown) => {
      if (this.#isFailing) return;
      this.#isFailing = true;
      log?.warn({ err: error }, 'Redis connection failed; retrying');
    });
    this.#redis.on('ready', () => {
      if (this.#isFailing) log?.info('Redis connection restored');
      this.#isFailing = false;
    });
    // Loaded ahead of every other command, so EVALSHA does not miss while this connection lasts.
    for (const script of ALL_SCRIPTS) {
      this.#redis.script('LOAD', script.source).catch(() => undefined);
    }
  }

  async accept(entry: NewInboxEntry, route: ReplyRoute, options: AcceptOptions = {}): Promise<AcceptResult> {
    const k = this.#keys;
    const result = await ACCEPT.run(
      this.#redis,
      [
        k.dedupe(entry.dedupeKey),
        k.seq,
        k.queue(entry.queueKey),
        k.queues,
        k.inbox,
        k.route(route.conversationKey),
      ],
      [
        entry.acceptedAtMs,
        k.prefix,
        entry.dedupeKey,
        entry.accountId,
        entry.queueKey,
        JSON.stringify(entry.job),
        entry.acceptedAtMs,
        route.accountId,
        route.chatType,
        route.webhookUrl ?? '',
        route.webhookExpiresAtMs ?? '',
        route.staffId ?? '',
        route.openConversationId ?? '',
      ],
    );
    const id = Number(result);
    if (id === 0) return { status: 'duplicate' };
    // Redis answers once the script is applied (and logged, as configured): committed and durable at once.
    options.onCommitted?.();
    return { status: 'accepted', id };
  }

  async remember(dedupeKey: string, nowMs: number): Promise<'remembered' | 'duplicate'> {
    const result = await REMEMBER.run(
      this.#redis,
      [this.#keys.dedupe(dedupeKey)],
      [nowMs, nowMs + this.#dedupeTtlMs, this.#dedupeTtlMs],
    );
    return Number(result) === 1 ? 'remembered' : 'duplicate';
  }

  async unfinished(): Promise<InboxRecord[]> {
    const result = await READ_ALL.run(this.#redis, [this.#keys.inbox], [this.#keys.prefix]);
    return (result as unknown[]).map(toRecord);
  }

  async nextEntry(queueKey: string): Promise<InboxRecord | undefined> {
    const result = await READ_HEAD.run(this.#redis, [this.#keys.queue(queueKey)], [this.#keys.prefix]);
    return result === null ? undefined : toRecord(result);
  }

  queueLength(queueKey: string): Promise<number> {
    return this.#redis.llen(this.#keys.queue(queueKey));
  }

  pendingQueueKeys(): Promise<string[]> {
    return this.#redis.smembers(this.#keys.queues);
  }

  async acquireLease(queueKey: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await ACQUIRE_LEASE.run(this.#redis, [this.#keys.lease(queueKey)], [owner, ttlMs]);
    return Number(result) === 1;
  }

  async releaseLease(queueKey: string, owner: string): Promise<void> {
    await RELEASE_LEASE.run(this.#redis, [this.#keys.lease(queueKey)], [owner]);
  }

  async requestStop(queueKey: string, owner: string): Promise<boolean> {
    const holder = await this.#redis.get(this.#keys.lease(queueKey));
    if (holder === null || holder === owner) return false;
    await this.#redis.publish(this.#keys.stopChannel, JSON.stringify({ queueKey, owner: holder }));
    return true;
  }

  async onStopRequest(listener: (request: { queueKey: string; owner: string }) => void): Promise<void> {
    const channel = this.#keys.stopChannel;
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#redis.duplicate();
      this.#subscriber.on('error', () => undefined); // reported by the main connection
    }
    this.#subscriber.on('message', (from: string, text: string) => {
      if (from !== channel) return;
      const request = parseStopRequest(text);
      if (request === undefined) this.#log?.warn('ignored a malformed /stop request');
      else listener(request);
    });
    await this.#subscriber.subscribe(channel);
  }

  async markStarted(id: number): Promise<number> {
    return Number(await MARK_STARTED.run(this.#redis, [this.#keys.entry(id)], []));
  }

  async planReply(id: number, messages: readonly OutgoingMessage[], isComplete: boolean): Promise<void> {
    await PLAN_REPLY.run(
      this.#redis,
      [this.#keys.entry(id), this.#keys.chunks(id)],
      [isComplete ? 1 : 0, ...messages.map((message) => JSON.stringify(message))],
    );
  }

  async markChunkSent(id: number, index: number, nowMs: number): Promise<void> {
    await MARK_CHUNK_SENT.run(this.#redis, [this.#keys.entry(id), this.#keys.sent(id)], [index, nowMs]);
  }

  async finish(id: number, nowMs: number): Promise<void> {
    await FINISH.run(
      this.#redis,
      [this.#keys.inbox, this.#keys.queues],
      [this.#keys.prefix, id, nowMs + this.#dedupeTtlMs, this.#dedupeTtlMs],
    );
  }

  async route(conversationKey: string): Promise<ReplyRoute | undefined> {
    const fields = await this.#redis.hgetall(this.#keys.route(conversationKey));
    return fields['chatType'] === undefined ? undefined : toRoute(conversationKey, fields);
  }

  async hasAnswered(sessionKey: string): Promise<boolean> {
    return (await this.#redis.hexists(this.#keys.answered, sessionKey)) === 1;
  }

  async markAnswered(sessionKey: string, nowMs: number): Promise<void> {
    await this.#redis.hsetnx(this.#keys.answered, sessionKey, nowMs);
  }

  async sessionGeneration(baseKey: string): Promise<number> {
    return Number((await this.#redis.hget(this.#keys.generations, baseKey)) ?? 0);
  }

  bumpSessionGeneration(baseKey: string): Promise<number> {
    return this.#redis.hincrby(this.#keys.generations, baseKey, 1);
  }

  inboxDepth(): Promise<number> {
    return this.#redis.zcard(this.#keys.inbox);
  }

  /** Nothing to do: Redis expires dedupe keys itself (`PX`). */
  sweep(_nowMs: number): Promise<number> {
    return Promise.resolve(0);
  }

  /**
   * Waits for the replies of commands already issued (up to {@link QUIT_TIMEOUT_MS} when Redis is
   * unreachable), then closes the connection. Idempotent.
   */
  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    if (this.#redis.status === 'end') return;
    await settlesWithin(
      this.#redis.quit().catch(() => undefined),
      QUIT_TIMEOUT_MS,
    );
    this.#redis.disconnect();
  }
}

/** `[k1, v1, k2, v2, …]` as a map. */
function pairs(flat: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] ?? '', flat[i + 1] ?? '');
  return map;
}

/** A READ_ENTRY result: `[id, entry fields, chunk messages, sent times]`. */
function toRecord(raw: unknown): InboxRecord {
  const [id, entryFields, messages, sentFields] = raw as [string, string[], string[], string[]];
  const fields = pairs(entryFields);
  const sent = pairs(sentFields);
  const chunks = messages.map((message, index): StoredChunk => ({
    index,
    message: JSON.parse(message) as OutgoingMessage,
    sentAtMs: sent.has(String(index)) ? Number(sent.get(String(index))) : undefined,
  }));
  return {
    id: Number(id),
    dedupeKey: fields.get('dedupeKey') ?? '',
    accountId: fields.get('accountId') ?? '',
    queueKey: fields.get('queueKey') ?? '',
    job: JSON.parse(fields.get('job') ?? 'null') as StoredJob,
    acceptedAtMs: Number(fields.get('acceptedAtMs')),
    attempts: Number(fields.get('attempts')),
    chunks,
    isReplyComplete: fields.get('complete') === '1',
  };
}

function toRoute(conversationKey: string, fields: Record<string, string>): ReplyRoute {
  const expiresAt = fields['webhookExpiresAtMs'];
  return {
    conversationKey,
    accountId: fields['accountId'] ?? '',
    chatType: fields['chatType'] === 'group' ? 'group' : 'dm',
    webhookUrl: fields['webhookUrl'],
    webhookExpiresAtMs: expiresAt === undefined ? undefined : Number(expiresAt),
    staffId: fields['staffId'],
    openConversationId: fields['openConversationId'],
  };
}

function parseStopRequest(text: string): { queueKey: string; owner: string } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { queueKey, owner } = value as Record<string, unknown>;
    return typeof queueKey === 'string' && typeof owner === 'string' ? { queueKey, owner } : undefined;
  } catch {
    return undefined;
  }
}
