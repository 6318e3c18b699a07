import type { AccountConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { applyResponsePrefix, formatReply, textFormat } from '../reply/format-reply.js';
import type { InboxRecord } from '../state/store.js';
import { retireInterruptedCard } from './interrupted-card.js';
import { NOTICES } from './notices.js';
import { streamReply } from './turn-ask.js';
import { ReplyPipeline } from './turn-delivery.js';
import type { TurnDependencies } from './turn-deps.js';

export type { TurnDependencies } from './turn-deps.js';

/** A message whose turn was started this often (the gateway crashed each time) is given up. */
export const MAX_TURN_STARTS = 3;

/** The abort reason of a turn stopped by `/stop` (as opposed to shutdown). */
export class UserStopRequest extends Error {
  constructor() {
    super('stopped by the user');
    this.name = 'UserStopRequest';
  }
}

/**
 * `shutdown` aborts everything (the entry resumes at the next start); `turn` also aborts when the
 * user sends `/stop` (the agent is stopped, what it said so far is delivered and the entry ends).
 */
export interface TurnSignals {
  readonly shutdown: AbortSignal;
  readonly turn: AbortSignal;
}

/** How a turn ended: `aborted` leaves the entry in the inbox for the next start. */
export type TurnOutcome = 'answered' | 'notice' | 'undeliverable' | 'aborted';

/** The notice that replaces asking the agent, if any: resumed after a cut stream, too old, or given up. */
function noticeInsteadOfAsking(record: InboxRecord, deps: TurnDependencies, log: Logger): string | undefined {
  // A previous run sent part of a streamed reply and stopped: the rest is lost with that run.
  if (record.chunks.length > 0) return NOTICES.interrupted;
  const ageMs = deps.now() - record.acceptedAtMs;
  if (ageMs > deps.delivery.maxMessageAgeMs) {
    log.warn({ ageMs }, 'message too old to answer; sending an apology');
    return NOTICES.tooLate;
  }
  if (record.attempts >= MAX_TURN_STARTS) {
    log.error({ attempts: record.attempts }, 'turn was interrupted too often; giving up');
    return NOTICES.gaveUp;
  }
  return undefined;
}

async function noticeMessages(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  notice: string,
) {
  const isFirstReply = !(await deps.store.hasAnswered(record.job.sessionKey));
  return formatReply(
    isFirstReply ? applyResponsePrefix(notice, account.responsePrefix) : notice,
    textFormat(account),
  );
}

/**
 * Answers one inbox entry, resuming wherever a previous run stopped: messages already planned
 * and not yet sent go first; then, if the reply is not complete, the agent is asked and its reply
 * streamed out message by message (or a notice is sent when the message is too old, keeps crashing
 * the turn, or was cut by a crash). Every message is recorded before it is sent and marked after.
 */
export async function runTurn(
  record: InboxRecord,
  deps: TurnDependencies,
  log: Logger,
  signals: TurnSignals,
): Promise<TurnOutcome> {
  const signal = signals.shutdown;
  const account = deps.accounts.get(record.accountId);
  if (account === undefined) {
    log.error(
      { account: record.accountId },
      'message belongs to an account that is no longer configured; dropped',
    );
    await deps.store.finish(record.id, deps.now());
    return 'undeliverable';
  }
  await retireInterruptedCard(record, account, deps, log, signal);
  const pipeline = new ReplyPipeline(record, account, deps, log, signal);
  pipeline.resume(record.chunks.filter((chunk) => chunk.sentAtMs === undefined));
  let kind: TurnOutcome = 'answered';
  if (!record.isReplyComplete) {
    const replacement = noticeInsteadOfAsking(record, deps, log);
    if (replacement === undefined) {
      const streamed = await streamReply(record, account, deps, log, signals, (messages, isComplete) =>
        pipeline.push(messages, isComplete),
      );
      if (streamed === undefined) {
        await pipeline.settle().catch(() => undefined);
        return 'aborted';
      }
      if (streamed.isNotice) kind = 'notice';
    } else {
      pipeline.push(await noticeMessages(record, account, deps, replacement), true);
      kind = 'notice';
    }
  }
  const delivered = await pipeline.settle();
  if (delivered === 'aborted') return 'aborted';
  if (delivered === 'sent') await deps.store.markAnswered(record.job.sessionKey, deps.now());
  await deps.store.finish(record.id, deps.now());
  return delivered === 'sent' ? kind : 'undeliverable';
}
