import type { AccountConfig } from '../config/types.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import type { Logger } from '../log/logger.js';
import { applyResponsePrefix, formatReply } from '../reply/format-reply.js';
import type { InboxRecord, StoredChunk } from '../state/store.js';
import { NOTICES } from './notices.js';
import { askForReply } from './turn-ask.js';
import { deliverChunks } from './turn-delivery.js';
import type { TurnDependencies } from './turn-deps.js';

export type { TurnDependencies } from './turn-deps.js';

/** A message whose turn was started this often (the gateway crashed each time) is given up. */
export const MAX_TURN_STARTS = 3;

/** How a turn ended: `aborted` leaves the entry in the inbox for the next start. */
export type TurnOutcome = 'answered' | 'notice' | 'undeliverable' | 'aborted';

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

/** Decides the reply (agent answer or notice), records its messages and returns all planned chunks. */
async function planReply(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
  forcedNotice: string | undefined,
): Promise<{ chunks: StoredChunk[]; isNotice: boolean } | undefined> {
  let text: string;
  let media: OutgoingMessage[] = [];
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
    const reply = await askForReply(record, account, deps, log, signal);
    if (reply === undefined) return undefined;
    ({ text, media, isNotice } = reply);
  }
  if (!(await deps.store.hasAnswered(record.job.sessionKey)))
    text = applyResponsePrefix(text, account.responsePrefix);
  const messages = [...(text === '' ? [] : formatReply(text, account)), ...media];
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
