import type { Logger } from '../log/logger.js';
import type { InboxRecord } from '../state/store.js';
import { KeyedQueue } from './keyed-queue.js';
import { NOTICES } from './notices.js';
import { type TurnDependencies, type TurnOutcome, UserStopRequest, runTurn } from './turn.js';

export interface DispatcherOptions {
  readonly deps: TurnDependencies;
  readonly logger: Logger;
  /** Entries waiting or running per queue key; beyond it the sender gets a busy notice. */
  readonly maxQueuePerConversation: number;
}

/**
 * Runs inbox entries: one at a time per queue key (a session), in acceptance order, different
 * keys concurrently. A full queue answers at once with a busy notice instead of queueing.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #log: Logger;
  readonly #queue = new KeyedQueue();
  readonly #abort = new AbortController();
  readonly #outsideQueue = new Set<Promise<unknown>>();
  /** The turn running per queue key, for `/stop`. */
  readonly #running = new Map<string, AbortController>();

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'dispatcher' });
  }

  /** Entries queued or running. */
  get pending(): number {
    return this.#queue.size + this.#outsideQueue.size;
  }

  /** Entries waiting behind another of their session, and entries being worked on (metrics). */
  queueDepth(): { queued: number; running: number } {
    const running = this.#queue.activeKeys + this.#outsideQueue.size;
    return { queued: this.#queue.size - this.#queue.activeKeys, running };
  }

  /** Entries queued or running for `queueKey`. */
  depthOf(queueKey: string): number {
    return this.#queue.depth(queueKey);
  }

  /** Stops the agent turn running for `queueKey` (`/stop`); false when none runs. */
  stopRunning(queueKey: string): boolean {
    const controller = this.#running.get(queueKey);
    if (controller === undefined) return false;
    controller.abort(new UserStopRequest());
    return true;
  }

  /** Schedules a newly accepted entry. */
  submit(record: InboxRecord, log: Logger): void {
    if (this.#queue.depth(record.queueKey) >= this.#options.maxQueuePerConversation) {
      log.warn(
        { depth: this.#queue.depth(record.queueKey) },
        'conversation queue full; answering with a busy notice',
      );
      const task = this.#run(record, log, NOTICES.queueFull).finally(() => this.#outsideQueue.delete(task));
      this.#outsideQueue.add(task);
      return;
    }
    this.#enqueue(record, log);
  }

  /** Schedules every unfinished entry of an earlier run, in acceptance order; resolves with their count. */
  resume(records: readonly InboxRecord[]): number {
    for (const record of records) {
      const log = this.#log.child({
        account: record.accountId,
        msgId: record.job.message.msgId,
        conversationId: record.job.message.conversationId,
        resumed: true,
      });
      this.#enqueue(record, log);
    }
    if (records.length > 0) this.#log.info({ entries: records.length }, 'resuming unfinished messages');
    return records.length;
  }

  /**
   * Waits up to `graceMs` for running and queued entries, then aborts the rest (they stay in the
   * inbox and resume at the next start). Resolves with the number aborted.
   */
  async drain(graceMs: number): Promise<number> {
    const idle = Promise.all([this.#queue.onIdle(), ...this.#outsideQueue]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)),
    );
    const result = await Promise.race([idle.then(() => 'idle' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'idle') return 0;
    const left = this.pending;
    this.#abort.abort(new Error('gateway shutting down'));
    await Promise.all([this.#queue.onIdle(), ...this.#outsideQueue]);
    return left;
  }

  #enqueue(record: InboxRecord, log: Logger): void {
    this.#queue.push(record.queueKey, async () => {
      await this.#run(record, log);
    });
  }

  async #run(record: InboxRecord, log: Logger, notice?: string): Promise<TurnOutcome | undefined> {
    if (this.#abort.signal.aborted) return undefined;
    const startedMs = performance.now();
    const observe = (outcome: string): void =>
      this.#options.deps.metrics.turnDurationSeconds.observe(
        { outcome },
        (performance.now() - startedMs) / 1000,
      );
    const stop = new AbortController();
    if (notice === undefined) this.#running.set(record.queueKey, stop);
    const signals = {
      shutdown: this.#abort.signal,
      turn: AbortSignal.any([this.#abort.signal, stop.signal]),
    };
    try {
      const outcome = await runTurn(record, this.#options.deps, log, signals, notice);
      observe(outcome);
      if (outcome === 'aborted') log.info('turn aborted by shutdown; it resumes at the next start');
      return outcome;
    } catch (error) {
      observe('failed');
      // A store failure: the entry stays in the inbox and is retried at the next start.
      log.error({ err: error }, 'turn failed unexpectedly');
      return undefined;
    } finally {
      if (this.#running.get(record.queueKey) === stop) this.#running.delete(record.queueKey);
    }
  }
}
