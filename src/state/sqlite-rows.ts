import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import type { InboxRecord, ReplyRoute, StoredChunk, StoredJob } from './store.js';

// Rows of the SQLite store's tables (sqlite-migrations.ts) and their mapping to the store's types.

export interface InboxRow {
  id: number;
  dedupe_key: string;
  account_id: string;
  queue_key: string;
  job_json: string;
  attempts: number;
  reply_complete: number;
  accepted_at_ms: number;
}

export interface ChunkRow {
  inbox_id: number;
  idx: number;
  message_json: string;
  sent_at_ms: number | null;
}

export interface RouteRow {
  conversation_key: string;
  account_id: string;
  chat_type: 'dm' | 'group';
  webhook_url: string | null;
  webhook_expires_at_ms: number | null;
  staff_id: string | null;
  open_conversation_id: string | null;
}

export function toChunk(row: ChunkRow): StoredChunk {
  return {
    index: row.idx,
    message: JSON.parse(row.message_json) as OutgoingMessage,
    sentAtMs: row.sent_at_ms ?? undefined,
  };
}

export function toRecord(row: InboxRow, chunks: StoredChunk[]): InboxRecord {
  return {
    id: row.id,
    dedupeKey: row.dedupe_key,
    accountId: row.account_id,
    queueKey: row.queue_key,
    job: JSON.parse(row.job_json) as StoredJob,
    acceptedAtMs: row.accepted_at_ms,
    attempts: row.attempts,
    chunks,
    isReplyComplete: row.reply_complete === 1,
  };
}

export function toRoute(row: RouteRow): ReplyRoute {
  return {
    conversationKey: row.conversation_key,
    accountId: row.account_id,
    chatType: row.chat_type,
    webhookUrl: row.webhook_url ?? undefined,
    webhookExpiresAtMs: row.webhook_expires_at_ms ?? undefined,
    staffId: row.staff_id ?? undefined,
    openConversationId: row.open_conversation_id ?? undefined,
  };
}
