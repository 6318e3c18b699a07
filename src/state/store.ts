import type { InboundMessage } from '../bridge/inbound-message.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';

/** What is kept of an accepted message: enough to answer it after a restart. */
export interface StoredJob {
  readonly message: InboundMessage;
  /** The text for the agent (prefix stripped). */
  readonly text: string;
  readonly sessionKey: string;
}

/** A message to accept into the inbox. */
export interface NewInboxEntry {
  readonly dedupeKey: string;
  readonly accountId: string;
  /** Ordering unit: entries with the same key are answered one at a time, in acceptance order. */
  readonly queueKey: string;
  readonly job: StoredJob;
  readonly acceptedAtMs: number;
}

/** A reply message planned for an entry, and whether it reached DingTalk. */
export interface StoredChunk {
  readonly index: number;
  readonly message: OutgoingMessage;
  readonly sentAtMs: number | undefined;
}

/** An accepted message that is not finished yet. */
export interface InboxRecord extends NewInboxEntry {
  /** Acceptance order (monotonic). */
  readonly id: number;
  /** Agent turns started for it, over all runs of the gateway. */
  readonly attempts: number;
  /** Reply messages planned so far, in order. */
  readonly chunks: readonly StoredChunk[];
  /** True once every reply message is planned (the turn produced its whole answer). */
  readonly isReplyComplete: boolean;
}

/** Where replies to one conversation can go. */
export interface ReplyRoute {
  /** `<accountId>:<conversationId>`. */
  readonly conversationKey: string;
  readonly accountId: string;
  readonly chatType: 'dm' | 'group';
  /** The freshest session webhook seen for the conversation, and when it expires. */
  readonly webhookUrl: string | undefined;
  readonly webhookExpiresAtMs: number | undefined;
  /** DM fallback target (the sender's org userId); absent for external users. */
  readonly staffId: string | undefined;
  /** Group fallback target (= conversationId). */
  readonly openConversationId: string | undefined;
}

/** `accepted` carries the new entry's id. */
export type AcceptResult =
  { readonly status: 'accepted'; readonly id: number } | { readonly status: 'duplicate' };

/** Options of {@link StateStore.accept}. */
export interface AcceptOptions {
  /**
   * Called once a new entry is committed, when `nextEntry` already returns it: work on it may
   * start there, while the returned promise waits until the entry is durable (what an ACK waits
   * for). Not called for a duplicate. Must not throw (a throw fails the accept).
   */
  readonly onCommitted?: () => void;
}

/**
 * Durable state shared by the bridge and the delivery path. Every method is async so a networked
 * driver (Redis) can implement the same contract as the embedded SQLite one.
 *
 * Dedupe keys are claimed atomically with the inbox insert; a key stays claimed while its entry
 * is unfinished and for the dedupe TTL after `finish`. Entries are queued per queue key; a lease
 * per queue key lets several gateway replicas share one store without answering a conversation
 * twice or out of order.
 */
export interface StateStore {
  /**
   * Claims the entry's dedupe key and, when new, records the entry and refreshes its route.
   * Resolves once that is durable (as durable as the driver makes it).
   */
  accept(entry: NewInboxEntry, route: ReplyRoute, options?: AcceptOptions): Promise<AcceptResult>;
  /** Claims a dedupe key for a message that gets no answer (rejected), until the TTL passes. */
  remember(dedupeKey: string, nowMs: number): Promise<'remembered' | 'duplicate'>;
  /** Every unfinished entry, in acceptance order. */
  unfinished(): Promise<InboxRecord[]>;
  /** The oldest unfinished entry of a queue key: the next one to answer. */
  nextEntry(queueKey: string): Promise<InboxRecord | undefined>;
  /** Unfinished entries of a queue key. */
  queueLength(queueKey: string): Promise<number>;
  /** Queue keys with unfinished entries. */
  pendingQueueKeys(): Promise<string[]>;
  /**
   * Takes or renews the lease on a queue key for `owner` for `ttlMs`: only the holder answers that
   * key's entries, so one conversation is worked on by one replica at a time. False when another
   * owner holds an unexpired lease.
   */
  acquireLease(queueKey: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` still holds it. */
  releaseLease(queueKey: string, owner: string): Promise<void>;
  /** Counts a turn start; returns the new attempt count. */
  markStarted(id: number): Promise<number>;
  /** Appends planned reply messages (after those already planned); `isComplete` when none follow. */
  planReply(id: number, messages: readonly OutgoingMessage[], isComplete: boolean): Promise<void>;
  markChunkSent(id: number, index: number, nowMs: number): Promise<void>;
  /** The entry is answered (or given up): it leaves the inbox; its dedupe key expires after the TTL. */
  finish(id: number, nowMs: number): Promise<void>;
  route(conversationKey: string): Promise<ReplyRoute | undefined>;
  /** Whether a session already got a reply (for `responsePrefix`). */
  hasAnswered(sessionKey: string): Promise<boolean>;
  markAnswered(sessionKey: string, nowMs: number): Promise<void>;
  /** How often `/new` rotated the session of `baseKey` (0 = never). */
  sessionGeneration(baseKey: string): Promise<number>;
  /** Rotates the session of `baseKey`; returns the new generation. */
  bumpSessionGeneration(baseKey: string): Promise<number>;
  /**
   * Asks the replica that holds `queueKey`'s lease, when that is not `owner`, to stop the turn it
   * runs (a `/stop` that reached another replica). False when no other replica holds the lease.
   */
  requestStop(queueKey: string, owner: string): Promise<boolean>;
  /**
   * Calls `listener` for every stop request addressed to a lease `owner` (see `requestStop`);
   * resolves once requests are being received.
   */
  onStopRequest(listener: (request: { queueKey: string; owner: string }) => void): Promise<void>;
  /** Unfinished entries (for metrics). */
  inboxDepth(): Promise<number>;
  /** Drops expired dedupe keys; returns how many. */
  sweep(nowMs: number): Promise<number>;
  close(): Promise<void>;
}
