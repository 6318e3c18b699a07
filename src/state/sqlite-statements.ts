import type Database from 'better-sqlite3';

import type { ChunkRow, InboxRow, RouteRow } from './sqlite-rows.js';

// The SQLite store's statements (tables in sqlite-migrations.ts), prepared once per connection.

/** In the route upsert: the stored session webhook outlives the new one (or there is no new one). */
const KEEPS_OLD_WEBHOOK = `routes.webhook_url IS NOT NULL AND (excluded.webhook_url IS NULL
  OR COALESCE(routes.webhook_expires_at_ms, 0) > COALESCE(excluded.webhook_expires_at_ms, 0))`;

/** Prepares every statement the store runs. */
export function prepareStatements(db: Database.Database) {
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
    queueHead: db.prepare<[string], InboxRow>('SELECT * FROM inbox WHERE queue_key = ? ORDER BY id LIMIT 1'),
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
    sweep: db.prepare<[number]>('DELETE FROM dedupe WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?'),
  };
}

export type SqliteStatements = ReturnType<typeof prepareStatements>;
