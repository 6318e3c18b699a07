import type Database from 'better-sqlite3';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never edit a
 * published migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    queue_key TEXT NOT NULL,
    job_json TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reply_complete INTEGER NOT NULL DEFAULT 0,
    accepted_at_ms INTEGER NOT NULL
  );
  CREATE TABLE reply_chunks (
    inbox_id INTEGER NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    message_json TEXT NOT NULL,
    sent_at_ms INTEGER,
    PRIMARY KEY (inbox_id, idx)
  );
  -- expires_at_ms NULL: the message is still in the inbox.
  CREATE TABLE dedupe (
    key TEXT PRIMARY KEY,
    expires_at_ms INTEGER
  );
  CREATE INDEX dedupe_expiry ON dedupe(expires_at_ms) WHERE expires_at_ms IS NOT NULL;
  CREATE TABLE routes (
    conversation_key TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    chat_type TEXT NOT NULL,
    webhook_url TEXT,
    webhook_expires_at_ms INTEGER,
    staff_id TEXT,
    open_conversation_id TEXT
  );
  CREATE TABLE answered_sessions (
    session_key TEXT PRIMARY KEY,
    answered_at_ms INTEGER NOT NULL
  );
  `,
  // /new rotates a conversation's OpenClaw session: the generation is appended to the session key.
  `
  CREATE TABLE session_generations (
    base_key TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
  );
  `,
  `
  CREATE INDEX inbox_queue ON inbox(queue_key, id);
  `,
  // The inbox loses its unique index on dedupe_key: the dedupe table already refuses a second claim
  // of a key (an entry's key stays there, without expiry, until it is finished), and the index cost
  // a fifth of the pages each group commit wrote. The table is rebuilt (SQLite cannot drop a
  // constraint); its AUTOINCREMENT counter is carried over, so no id is ever used twice.
  `
  CREATE TABLE inbox_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL,
    account_id TEXT NOT NULL,
    queue_key TEXT NOT NULL,
    job_json TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reply_complete INTEGER NOT NULL DEFAULT 0,
    accepted_at_ms INTEGER NOT NULL
  );
  INSERT INTO inbox_v4 (id, dedupe_key, account_id, queue_key, job_json, attempts, reply_complete, accepted_at_ms)
    SELECT id, dedupe_key, account_id, queue_key, job_json, attempts, reply_complete, accepted_at_ms FROM inbox;
  DELETE FROM sqlite_sequence WHERE name = 'inbox_v4';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'inbox_v4', seq FROM sqlite_sequence WHERE name = 'inbox';
  DROP TABLE inbox;
  ALTER TABLE inbox_v4 RENAME TO inbox;
  CREATE INDEX inbox_queue ON inbox(queue_key, id);
  `,
];

/**
 * Brings the database schema up to date inside one transaction. Foreign keys are off meanwhile (a
 * rebuilt parent table must not cascade-delete its children when the old copy is dropped) and
 * checked before the transaction commits.
 */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `state database schema version ${current} is newer than this gateway supports (${MIGRATIONS.length})`,
    );
  }
  if (current === MIGRATIONS.length) return;
  const hadForeignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (let version = current; version < MIGRATIONS.length; version += 1) {
        db.exec(MIGRATIONS[version] ?? '');
      }
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new Error(`migration left ${broken.length} rows without their parent`);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
  } finally {
    if (hadForeignKeys) db.pragma('foreign_keys = ON');
  }
}
