import type { AccountConfig, DeliveryConfig } from '../config/types.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { STREAM_RECONNECT_POLICY } from '../dingtalk/stream/backoff.js';
import type { ConversationOutbox } from '../delivery/conversation-outbox.js';
import type { DeliveryPath, ReplyRouter } from '../delivery/reply-router.js';
import { UndeliverableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ChatMessage } from '../openclaw/chat-client.js';
import { applyResponsePrefix, formatReply } from '../reply/format-reply.js';
import type { InboxRecord, StateStore, StoredChunk } from '../state/store.js';
import { sleepMs } from '../util/sleep.js';
import { type AgentClient, askAgent } from './ask-agent.js';
import { conversationKeyOf } from './conversation-key.js';
import { NOTICES, noticeFor } from './notices.js';

/** A message whose turn was started this often (the gateway crashed each time) is given up. */
export const MAX_TURN_STARTS = 3;
/** Pause before trying again to deliver a reply DingTalk could not take (transient failures). */
export const REDELIVERY_PAUSE_MS = 15_000;

export interface TurnDependencies {
  readonly agent: AgentClient;
  readonly agentId: string;
  readonly store: StateStore;
  readonly outbox: ConversationOutbox<DeliveryPath>;
  readonly router: ReplyRouter;
  readonly accounts: ReadonlyMap<string, AccountConfig>;
  readonly delivery: DeliveryConfig;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
}

/** How a turn ended: `aborted` leaves the entry in the inbox for the next start. */
export type TurnOutcome = 'answered' | 'notice' | 'undeliverable' | 'aborted';

/** The user turn sent to OpenClaw; in groups it names the speaker so the agent knows who talks. */
export function userContent(record: Pick<InboxRecord, 'job'>): string {
  const { message, text } = record.job;
  if (message.chatType === 'dm') return text;
  return `[From ${message.senderNick ?? 'unknown'} (id: ${message.senderKey})]\n${text}`;
}

/**
 * Answers one inbox entry, resuming wherever a previous run stopped: asks the agent if no reply
 * was planned yet (or sends a notice when the message is too old or keeps crashing the turn),
 * records the reply messages, then sends those not yet sent, in order, recording each. `notice`
 * forces a notice instead of asking the agent (queue full).
 */
export async function runTurn(
  record: InboxRecord,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
  notice?: string,
): Promise<TurnOutcome> {
  const account = deps.accounts.get(record.accountId);
  if (account === undefined) {
    log.error(
      { account: record.accountId },
      'message belongs to an account that is no longer configured; dropped',
    );
    await deps.store.finish(record.id, deps.now());
    return 'undeliverable';
  }
  let chunks: readonly StoredChunk[] = record.chunks;
  let kind: TurnOutcome = 'answered';
  if (!record.isReplyComplete) {
    const planned = await planReply(record, account, deps, log, signal, notice);
    if (planned === undefined) return 'aborted';
    chunks = planned.chunks;
    if (planned.isNotice) kind = 'notice';
  }
  const delivered = await deliverChunks(record, chunks, account, deps, log, signal);
  if (delivered === 'aborted') return 'aborted';
  if (delivered === 'sent') await deps.store.markAnswered(record.job.sessionKey, deps.now());
  await deps.store.finish(record.id, deps.now());
  return delivered === 'sent' ? kind : 'undeliverable';
}

async function planReply(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
  forcedNotice: string | undefined,
): Promise<{ chunks: StoredChunk[]; isNotice: boolean } | undefined> {
  let text: string;
  let isNotice = true;
  const ageMs = deps.now() - record.acceptedAtMs;
  if (forcedNotice !== undefined) {
    text = forcedNotice;
  } else if (record.chunks.length > 0) {
    // A previous run planned part of a streamed reply and stopped: the rest is lost with that run.
    text = NOTICES.interrupted;
  } else if (ageMs > deps.delivery.maxMessageAgeMs) {
    log.warn({ ageMs }, 'message too old to answer; sending an apology');
    text = NOTICES.tooLate;
  } else if (record.attempts >= MAX_TURN_STARTS) {
    log.error({ attempts: record.attempts }, 'turn was interrupted too often; giving up');
    text = NOTICES.gaveUp;
  } else {
    const answer = await ask(record, deps, log, signal);
    if (answer === undefined) return undefined;
    ({ text, isNotice } = answer);
  }
  if (!(await deps.store.hasAnswered(record.job.sessionKey)))
    text = applyResponsePrefix(text, account.responsePrefix);
  const messages = formatReply(text, account);
  await deps.store.planReply(record.id, messages, true);
  const first = record.chunks.length;
  return {
    chunks: [
      ...record.chunks,
      ...messages.map((message, offset) => ({ index: first + offset, message, sentAtMs: undefined })),
    ],
    isNotice,
  };
}

async function ask(
  record: InboxRecord,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<{ text: string; isNotice: boolean } | undefined> {
  await deps.store.markStarted(record.id);
  const messages: ChatMessage[] = [{ role: 'user', content: userContent(record) }];
  const startedMs = performance.now();
  let answer;
  try {
    answer = await askAgent(
      deps.agent,
      { sessionKey: record.job.sessionKey, agentId: deps.agentId, messages, signal },
      { attempts: deps.delivery.turnAttempts, backoff: { ...STREAM_RECONNECT_POLICY, maxDelayMs: 10_000 } },
      log,
    );
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
  deps.metrics.turnDurationSeconds.observe((performance.now() - startedMs) / 1000);
  const text = answer.text.trim();
  if (answer.failure !== undefined) {
    deps.metrics.turns.inc({ outcome: 'error' });
    log.warn(
      { err: answer.failure, partialChars: text.length, tries: answer.tries },
      'agent turn failed; sending an error notice',
    );
    return {
      text: text === '' ? noticeFor(answer.failure, false) : `${text}\n\n${noticeFor(answer.failure, true)}`,
      isNotice: text === '',
    };
  }
  deps.metrics.turns.inc({ outcome: 'ok' });
  return text === '' ? { text: NOTICES.empty, isNotice: true } : { text, isNotice: false };
}

async function deliverChunks(
  record: InboxRecord,
  chunks: readonly StoredChunk[],
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<'sent' | 'failed' | 'aborted'> {
  const conversationKey = conversationKeyOf(record.job.message);
  for (const chunk of chunks) {
    if (chunk.sentAtMs !== undefined) continue;
    const result = await deliverOne(record, chunk.message, conversationKey, account, deps, log, signal);
    if (result !== 'sent') return result;
    await deps.store.markChunkSent(record.id, chunk.index, deps.now());
  }
  log.info({ chunks: chunks.length }, 'reply delivered');
  return 'sent';
}

/** Sends one message; transient failures are retried (pausing this conversation) until the message is too old. */
async function deliverOne(
  record: InboxRecord,
  message: OutgoingMessage,
  conversationKey: string,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<'sent' | 'failed' | 'aborted'> {
  for (;;) {
    const route = await deps.store.route(conversationKey);
    if (route === undefined) {
      log.error('no reply route is known for this conversation');
      return 'failed';
    }
    try {
      await deps.outbox.send(conversationKey, message, account.maxChars, (merged) =>
        deps.router.deliver(route, merged, log, signal),
      );
      return 'sent';
    } catch (error) {
      if (signal.aborted) return 'aborted';
      const cause = error instanceof UndeliverableError ? error.cause : error;
      const isTransient = cause instanceof Error && 'retryable' in cause && cause.retryable === true;
      const isTooOld = deps.now() - record.acceptedAtMs > deps.delivery.maxMessageAgeMs;
      if (!isTransient || isTooOld) {
        deps.metrics.turns.inc({ outcome: 'undeliverable' });
        log.error({ err: error }, 'reply could not be delivered; giving up on this message');
        return 'failed';
      }
      log.warn(
        { err: error, pauseMs: REDELIVERY_PAUSE_MS },
        'DingTalk did not take the reply; trying again later',
      );
      try {
        await sleepMs(REDELIVERY_PAUSE_MS, signal);
      } catch {
        return 'aborted';
      }
    }
  }
}
