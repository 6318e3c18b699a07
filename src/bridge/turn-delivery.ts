import type { AccountConfig } from '../config/types.js';
import { type OutgoingMessage, isTextual } from '../dingtalk/outgoing-message.js';
import { UndeliverableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { InboxRecord, StoredChunk } from '../state/store.js';
import { sleepMs } from '../util/sleep.js';
import { conversationKeyOf } from './conversation-key.js';
import type { TurnDependencies } from './turn-deps.js';

/** Pause before trying again to deliver a reply DingTalk could not take (transient failures). */
export const REDELIVERY_PAUSE_MS = 15_000;

export type DeliveryOutcome = 'sent' | 'failed' | 'aborted';

/**
 * Sends the planned messages not sent yet, in order, recording each as sent. A text message that
 * cannot be delivered ends the reply (the user would see a hole); an attachment that cannot be
 * delivered is logged and skipped.
 */
export async function deliverChunks(
  record: InboxRecord,
  chunks: readonly StoredChunk[],
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  const conversationKey = conversationKeyOf(record.job.message);
  for (const chunk of chunks) {
    if (chunk.sentAtMs !== undefined) continue;
    const result = await deliverOne(record, chunk.message, conversationKey, account, deps, log, signal);
    if (result === 'aborted') return result;
    if (result === 'failed' && isTextual(chunk.message)) return result;
    if (result === 'failed') log.warn({ kind: chunk.message.kind }, 'attachment message skipped');
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
): Promise<DeliveryOutcome> {
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
        log.error(
          { err: error, kind: message.kind },
          'reply could not be delivered; giving up on this message',
        );
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
