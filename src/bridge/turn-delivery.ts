import type { AccountConfig } from '../config/types.js';
import { type OutgoingMessage, isTextual } from '../dingtalk/outgoing-message.js';
import { UndeliverableError, isRetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { InboxRecord, StoredChunk } from '../state/store.js';
import { sleepMs } from '../util/sleep.js';
import { conversationKeyOf } from './conversation-key.js';
import type { TurnDependencies } from './turn-deps.js';

/** Pause before trying again to deliver a reply DingTalk could not take (transient failures). */
export const REDELIVERY_PAUSE_MS = 15_000;

export type DeliveryOutcome = 'sent' | 'failed' | 'aborted';

/**
 * Records and sends reply messages while the turn is still producing them: each batch is recorded
 * (planned) before any of it is sent, messages leave strictly in order, each is marked sent.
 * Once a text message cannot be delivered, later messages are recorded but not sent.
 */
export class ReplyPipeline {
  readonly #record: InboxRecord;
  readonly #account: AccountConfig;
  readonly #deps: TurnDependencies;
  readonly #log: Logger;
  readonly #signal: AbortSignal;
  #tail: Promise<void> = Promise.resolve();
  #nextIndex: number;
  #outcome: DeliveryOutcome = 'sent';
  #sentCount = 0;

  constructor(
    record: InboxRecord,
    account: AccountConfig,
    deps: TurnDependencies,
    log: Logger,
    signal: AbortSignal,
  ) {
    this.#record = record;
    this.#account = account;
    this.#deps = deps;
    this.#log = log;
    this.#signal = signal;
    this.#nextIndex = record.chunks.length;
  }

  /** Queues `messages` (recorded first, then sent in order). */
  push(messages: readonly OutgoingMessage[], isComplete: boolean): void {
    const first = this.#nextIndex;
    this.#nextIndex += messages.length;
    this.#tail = this.#tail.then(async () => {
      await this.#deps.store.planReply(this.#record.id, messages, isComplete);
      const chunks = messages.map((message, offset) => ({
        index: first + offset,
        message,
        sentAtMs: undefined,
      }));
      await this.#send(chunks);
    });
    this.#markHandled();
  }

  /** Sends messages planned by an earlier run and not sent yet (no new planning). */
  resume(chunks: readonly StoredChunk[]): void {
    if (chunks.length === 0) return;
    this.#tail = this.#tail.then(() => this.#send(chunks));
    this.#markHandled();
  }

  // A store failure surfaces in settle(); until then it must not count as an unhandled rejection
  // (which ends the process).
  #markHandled(): void {
    this.#tail.catch(() => undefined);
  }

  /** Waits for everything queued; resolves with how delivery went. Rejects on a store failure. */
  async settle(): Promise<DeliveryOutcome> {
    await this.#tail;
    if (this.#outcome === 'sent') this.#log.info({ messages: this.#sentCount }, 'reply delivered');
    return this.#outcome;
  }

  async #send(chunks: readonly StoredChunk[]): Promise<void> {
    const conversationKey = conversationKeyOf(this.#record.job.message);
    for (const chunk of chunks) {
      if (this.#outcome !== 'sent') return;
      const result = await deliverOne(
        this.#record,
        chunk.message,
        conversationKey,
        this.#account,
        this.#deps,
        this.#log,
        this.#signal,
      );
      if (result === 'failed' && !isTextual(chunk.message))
        this.#log.warn({ kind: chunk.message.kind }, 'attachment message skipped');
      else if (result !== 'sent') {
        this.#outcome = result;
        return;
      }
      await this.#deps.store.markChunkSent(this.#record.id, chunk.index, this.#deps.now());
      this.#sentCount += 1;
    }
  }
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
      const isTransient = isRetryableError(cause);
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
