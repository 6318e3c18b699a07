import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

/** Where the tests look for Redis when `REDIS_URL` is not set. */
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';
const PROBE_TIMEOUT_MS = 1_500;

/** The Redis server the tests use, if one answers. */
export interface TestRedis {
  readonly url: string;
  readonly isAvailable: boolean;
  /** Why it is not available. */
  readonly problem: string | undefined;
}

let found: Promise<TestRedis> | undefined;

function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Failures surface through the promises; an 'error' event without a listener would be printed.
  redis.on('error', () => undefined);
  return redis;
}

/** Pings `REDIS_URL` (else {@link DEFAULT_TEST_REDIS_URL}) once per test file. */
export function findTestRedis(): Promise<TestRedis> {
  found ??= (async () => {
    const fromEnv = process.env['REDIS_URL']?.trim() ?? '';
    const url = fromEnv === '' ? DEFAULT_TEST_REDIS_URL : fromEnv;
    const redis = client(url);
    // The connection error (ECONNREFUSED …) arrives as an event; the rejection only says "closed".
    let cause: unknown;
    redis.on('error', (error: unknown) => (cause ??= error));
    try {
      await redis.connect();
      await redis.ping();
      return { url, isAvailable: true, problem: undefined };
    } catch (error) {
      const reason = cause ?? error;
      return { url, isAvailable: false, problem: reason instanceof Error ? reason.message : String(reason) };
    } finally {
      redis.disconnect();
    }
  })();
  return found;
}

/** Whether CI demands a Redis (`CI_REQUIRE_REDIS=1`, set by `.ci/run`). */
export function isRedisRequired(): boolean {
  return process.env['CI_REQUIRE_REDIS'] === '1';
}

/**
 * Registers the test that always runs in a file whose Redis suites are registered only when Redis
 * answers: it prints whether they run, and fails when `CI_REQUIRE_REDIS=1` and Redis is missing.
 */
export function describeRedisAvailability(redis: TestRedis, suites: string): void {
  const status = redis.isAvailable
    ? `${suites}: running against Redis at ${redis.url}`
    : `${suites}: running WITHOUT Redis (none at ${redis.url}: ${redis.problem ?? 'unknown'}); ` +
      'its Redis tests are not registered. Set REDIS_URL or start redis-server to run them.';
  process.stderr.write(`${status}\n`);
  const verdict = !redis.isAvailable && isRedisRequired() ? `missing but required: ${status}` : 'ok';
  describe('Redis for the tests', () => {
    it('is reachable where it is required (CI_REQUIRE_REDIS=1)', () => {
      expect(verdict).toBe('ok');
    });
  });
}

/** A key prefix no other test uses. */
export function uniqueKeyPrefix(name: string): string {
  return `test:${name}:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = client(url);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Every key under `prefix`, sorted. */
export async function listKeys(url: string, prefix: string): Promise<string[]> {
  const redis = client(url);
  try {
    await redis.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys.sort();
  } finally {
    redis.disconnect();
  }
}
