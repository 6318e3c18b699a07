import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { sleepMs } from '../util/sleep.js';
import { coalesce, coalescibleCount } from './coalesce.js';
import { SendWindow } from './send-window.js';

/** Sends one (possibly coalesced) message; resolves with where it went. */
export type DeliverFn<R> = (message: OutgoingMessage) => Promise<R>;

interface Pending<R> {
  readonly message: OutgoingMessage;
  readonly maxChars: number;
  readonly deliver: DeliverFn<R>;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane<R> {
  readonly window: SendWindow;
  readonly queue: Pending<R>[];
  isPumping: boolean;
}

export interface ConversationOutboxOptions {
  /** Messages per conversation per window. @defaultValue 20 */
  readonly limitPerWindow: number;
  /** @defaultValue 60_000 */
  readonly windowMs: number;
  readonly now?: () => number;
}

/**
 * Per-conversation send lanes: messages leave one at a time, in submission order, at most
 * `limitPerWindow` per conversation per `windowMs`. Messages that wait for the rate limit are not dropped:
 * queued followers of the same kind are coalesced into the head while they fit `maxChars`.
 */
export class ConversationOutbox<R> {
  readonly #options: ConversationOutboxOptions;
  readonly #now: () => number;
  readonly #lanes = new Map<string, Lane<R>>();
  readonly #abort = new AbortController();

  constructor(options: ConversationOutboxOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Messages waiting (not yet handed to `deliver`) over all conversations. */
  get waiting(): number {
    let total = 0;
    for (const lane of this.#lanes.values()) total += lane.queue.length;
    return total;
  }

  /**
   * Milliseconds until `count` more messages could leave for `conversationKey` without waiting for
   * the rate limit (messages already queued there go first); 0 = now.
   */
  delayMs(conversationKey: string, count: number): number {
    const lane = this.#lanes.get(conversationKey);
    const window = lane?.window ?? new SendWindow(this.#options.limitPerWindow, this.#options.windowMs);
    return window.delayMs(this.#now(), (lane?.queue.length ?? 0) + count);
  }

  /** Queues `message` for `conversationKey`; resolves when it (or the message it joined) was delivered. */
  send(
    conversationKey: string,
    message: OutgoingMessage,
    maxChars: number,
    deliver: DeliverFn<R>,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#abort.signal.aborted) {
        reject(new Error('outbox stopped'));
        return;
      }
      const lane = this.#lane(conversationKey);
      lane.queue.push({ message, maxChars, deliver, resolve, reject });
      if (!lane.isPumping) void this.#pump(conversationKey, lane);
    });
  }

  /** Forgets conversations with nothing queued and no send in the last window (bounded memory). */
  prune(): void {
    const nowMs = this.#now();
    for (const [key, lane] of this.#lanes) {
      if (!lane.isPumping && lane.queue.length === 0 && lane.window.isIdle(nowMs)) this.#lanes.delete(key);
    }
  }

  /** Rejects everything still waiting for a rate-limit slot, and every later send (shutdown). */
  stop(): void {
    this.#abort.abort(new Error('outbox stopped'));
  }

  #lane(conversationKey: string): Lane<R> {
    let lane = this.#lanes.get(conversationKey);
    if (lane === undefined) {
      lane = {
        window: new SendWindow(this.#options.limitPerWindow, this.#options.windowMs),
        queue: [],
        isPumping: false,
      };
      this.#lanes.set(conversationKey, lane);
    }
    return lane;
  }

  async #pump(conversationKey: string, lane: Lane<R>): Promise<void> {
    lane.isPumping = true;
    while (lane.queue.length > 0) {
      const delayMs = lane.window.delayMs(this.#now());
      if (delayMs > 0) {
        try {
          await sleepMs(delayMs, this.#abort.signal);
        } catch (error) {
          for (const pending of lane.queue.splice(0)) pending.reject(error);
          break;
        }
      }
      const head = lane.queue[0];
      if (head === undefined) break;
      const count =
        delayMs > 0
          ? coalescibleCount(
              lane.queue.map((pending) => pending.message),
              head.maxChars,
            )
          : 1;
      const batch = lane.queue.splice(0, count);
      lane.window.record(this.#now());
      try {
        const result = await head.deliver(coalesce(batch.map((pending) => pending.message)));
        for (const pending of batch) pending.resolve(result);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    lane.isPumping = false;
    if (lane.queue.length === 0 && lane.window.isIdle(this.#now())) this.#lanes.delete(conversationKey);
  }
}
