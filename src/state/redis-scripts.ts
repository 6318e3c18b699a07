import { createHash } from 'node:crypto';

import type { Redis } from 'ioredis';

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` when the server does not know it (after
 * a restart or `SCRIPT FLUSH`). Each script runs atomically: no other client's command interleaves.
 */
export class RedisScript {
  readonly source: string;
  readonly sha1: string;

  constructor(source: string) {
    this.source = source;
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

// A claimed dedupe key holds 'inbox' while its entry is unfinished, else the time (ms) it stops
// counting. Callers pass their clock, as with SQLite; the key's PX expiry only frees the memory.
const IS_CLAIMED = `
local function isClaimed(key, nowMs)
  local claim = redis.call('GET', key)
  return claim ~= false and (claim == 'inbox' or tonumber(claim) > tonumber(nowMs))
end
`;

/** One entry as `{id, entry fields, chunk messages, sent times}`, or false when it is gone. */
const READ_ENTRY = `
local function readEntry(prefix, id)
  local fields = redis.call('HGETALL', prefix .. 'entry:' .. id)
  if #fields == 0 then return false end
  return {
    id, fields,
    redis.call('LRANGE', prefix .. 'chunks:' .. id, 0, -1),
    redis.call('HGETALL', prefix .. 'sent:' .. id),
  }
end
`;

/**
 * Claims the dedupe key, inserts the entry, appends it to its queue and refreshes the route, or does
 * nothing and returns 0 when the key is claimed.
 * KEYS: dedupe, seq, queue, queues, inbox, route.
 * ARGV: nowMs, prefix, dedupeKey, accountId, queueKey, job, acceptedAtMs, route accountId, chatType,
 * webhookUrl, webhookExpiresAtMs, staffId, openConversationId ('' = absent).
 */
export const ACCEPT = new RedisScript(`${IS_CLAIMED}
if isClaimed(KEYS[1], ARGV[1]) then return 0 end
local id = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], 'inbox')
redis.call('HSET', ARGV[2] .. 'entry:' .. id, 'dedupeKey', ARGV[3], 'accountId', ARGV[4],
  'queueKey', ARGV[5], 'job', ARGV[6], 'acceptedAtMs', ARGV[7], 'attempts', 0, 'complete', 0)
redis.call('RPUSH', KEYS[3], id)
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[5], id, id)
-- Keep whichever session webhook lives longer: an old message accepted late must not replace a fresher one.
local old = redis.call('HMGET', KEYS[6], 'webhookUrl', 'webhookExpiresAtMs')
local keepOld = old[1] ~= false and
  (ARGV[10] == '' or (tonumber(old[2] or '0') or 0) > (tonumber(ARGV[11]) or 0))
redis.call('HSET', KEYS[6], 'accountId', ARGV[8], 'chatType', ARGV[9])
if not keepOld then
  for i, field in ipairs({'webhookUrl', 'webhookExpiresAtMs'}) do
    if ARGV[9 + i] == '' then redis.call('HDEL', KEYS[6], field)
    else redis.call('HSET', KEYS[6], field, ARGV[9 + i]) end
  end
end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[6], 'staffId', ARGV[12]) end
if ARGV[13] ~= '' then redis.call('HSET', KEYS[6], 'openConversationId', ARGV[13]) end
return id
`);

/** Claims a dedupe key until `expiresAtMs`; 0 when it is claimed. KEYS: dedupe. ARGV: nowMs, expiresAtMs, ttlMs. */
export const REMEMBER = new RedisScript(`${IS_CLAIMED}
if isClaimed(KEYS[1], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);

/**
 * Removes an entry with its chunks from the inbox and its queue, and starts its dedupe key's expiry.
 * KEYS: inbox, queues. ARGV: prefix, id, expiresAtMs, ttlMs.
 */
export const FINISH = new RedisScript(`
local entry = ARGV[1] .. 'entry:' .. ARGV[2]
local fields = redis.call('HMGET', entry, 'dedupeKey', 'queueKey')
if fields[1] == false then return 0 end
redis.call('DEL', entry, ARGV[1] .. 'chunks:' .. ARGV[2], ARGV[1] .. 'sent:' .. ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
local queue = ARGV[1] .. 'queue:' .. fields[2]
redis.call('LREM', queue, 0, ARGV[2])
if redis.call('LLEN', queue) == 0 then redis.call('SREM', KEYS[2], fields[2]) end
redis.call('SET', ARGV[1] .. 'dedupe:' .. fields[1], ARGV[3], 'PX', ARGV[4])
return 1
`);

/** The oldest entry of a queue (see READ_ENTRY), or false. KEYS: queue. ARGV: prefix. */
export const READ_HEAD = new RedisScript(`${READ_ENTRY}
local id = redis.call('LINDEX', KEYS[1], 0)
if id == false then return false end
return readEntry(ARGV[1], id)
`);

/** Every unfinished entry in id order (see READ_ENTRY), as one snapshot. KEYS: inbox. ARGV: prefix. */
export const READ_ALL = new RedisScript(`${READ_ENTRY}
local result = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local entry = readEntry(ARGV[1], id)
  if entry then result[#result + 1] = entry end
end
return result
`);

/** Counts a turn start of an existing entry; 0 when it is gone. KEYS: entry. */
export const MARK_STARTED = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
`);

/**
 * Appends planned messages to an unfinished entry and marks it complete; an error when the entry is
 * gone (finished), as SQLite's foreign key does. KEYS: entry, chunks. ARGV: isComplete (1/0), messages…
 */
export const PLAN_REPLY = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('ERR inbox entry ' .. KEYS[1] .. ' is not unfinished')
end
if #ARGV > 1 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 2)) end
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'complete', 1) end
return 1
`);

/** Records when a chunk of an existing entry was sent. KEYS: entry, sent. ARGV: index, sentAtMs. */
export const MARK_CHUNK_SENT = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 1
`);

/** Takes a free lease, or renews it for its owner; 0 when someone else holds it. KEYS: lease. ARGV: owner, ttlMs. */
export const ACQUIRE_LEASE = new RedisScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

/** Deletes a lease only while `owner` holds it. KEYS: lease. ARGV: owner. */
export const RELEASE_LEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Every script, for loading them when the connection opens. */
export const ALL_SCRIPTS: readonly RedisScript[] = [
  ACCEPT,
  REMEMBER,
  FINISH,
  READ_HEAD,
  READ_ALL,
  MARK_STARTED,
  PLAN_REPLY,
  MARK_CHUNK_SENT,
  ACQUIRE_LEASE,
  RELEASE_LEASE,
];
