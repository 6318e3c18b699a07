import { randomUUID } from 'node:crypto';

import type { Logger } from '../log/logger.js';
import type { InboxRecord } from '../state/store.js';
import { type LinkedSignal, linkedSignal } from '../util/linked-signal.js';
import { settlesWithin } from '../util/settles-within.js';
import { type TurnDependencies, type TurnOutcome, UserStopRequest, runTurn } from './turn.js';

export interface DispatcherOptions {
  readonly deps: TurnDependencies;
  readonly logger: Logger;
  /** How long a queue-key lease lasts without renewal (a crashed replica's work is taken over after it). */
  readonly leaseTtlMs: number;
  /** How often unfinished queue keys are looked for (work of crashed replicas, missed wake-ups). */
  readonly sweepIntervalMs: number;
  /** Agent turns running at once in this process; more wait for a slot. */
  readonly maxConcurrentTurns: number;
}

/** A worker's turn found no entry left for its queue key. */
const DRAINED = Symbol('drained');
/** A worker's turn did not start: another replica holds the queue key's lease, or work stops. */
const NOT_TAKEN = Symbol('not taken');

/** What a turn slot came back with. */
type TurnResult = TurnOutcome | typeof DRAINED | typeof NOT_TAKEN | undefined;

/** The work on one queue key: waiting in line for a turn slot, or running its turn. */
interface Worker {
  /** Set when new work arrived for the key since its current turn started. */
  hasMore: boolean;
  /** Resolves when the key leaves this process's hands (drained, taken elsewhere, stopped). */
  readonly done: Promise<void>;
  readonly finish: () => void;
}

/**
 * Answers inbox entries: one at a time per queue key (a session), in acceptance order, different
 * keys concurrently. Work on a key needs its lease in the state store, so with a shared store
 * (several replicas) a conversation is answered by one replica at a time; a replica that accepted
 * a message while another holds the lease leaves it to the holder, and a periodic sweep picks up
 * keys whose holder died once the lease expired.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #log: Logger;
  /** This process's lease owner id. */
  readonly #owner = randomUUID();
  readonly #workers = new Map<string, Worker>();
  /**
   * Keys waiting for a turn slot, first in line first; each also has its worker. A waiting
   * conversation costs its key here and nothing else (no suspended function, no lease, no message).
   */
  readonly #waiting: string[] = [];
  #turnsRunning = 0;
  #isPumpScheduled = false;
  /**
   * The queue keys whose lease a turn here holds, each with the turn's abort: on shutdown (after the
   * grace) and when that lease is lost. Renewed together by one timer every third of the TTL. Plain
   * controllers, not listeners on one shared signal: an EventTarget checks every listener it holds
   * when another is added.
   */
  readonly #leases = new Map<string, AbortController>();
  #renewalTimer: NodeJS.Timeout | undefined;
  #shutdownReason: Error | undefined;
  /** The signal of the turn running per queue key, for `/stop`. */
  readonly #running = new Map<string, LinkedSignal>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #isStopping = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'dispatcher' });
  }

  /** Queue keys being worked on by this process. */
  get pending(): number {
    return this.#workers.size;
  }

  /** Turns running here, and entries waiting in the shared inbox (metrics). */
  async queueDepth(): Promise<{ queued: number; running: number }> {
    const running = this.#running.size;
    const total = await this.#options.deps.store.inboxDepth();
    return { queued: Math.max(0, total - running), running };
  }

  /**
   * Stops the agent turn of `queueKey` (`/stop`): here, or on the replica that holds the
   * conversation's lease. False when no turn runs here and no other replica works on it.
   */
  async stopRunning(queueKey: string): Promise<boolean> {
    if (this.#stopHere(queueKey)) return true;
    return this.#options.deps.store.requestStop(queueKey, this.#owner);
  }

  #stopHere(queueKey: string): boolean {
    const turn = this.#running.get(queueKey);
    if (turn === undefined) return false;
    turn.abort(new UserStopRequest());
    return true;
  }

  /** Starts looking for work: at once (entries of an earlier run), then every `sweepIntervalMs`. */
  async start(): Promise<void> {
    await this.#options.deps.store
      .onStopRequest(({ queueKey, owner }) => {
        if (owner === this.#owner && this.#stopHere(queueKey))
          this.#log.info({ queueKey }, 'turn stopped at the request of another replica');
      })
      .catch((error: unknown) => this.#log.warn({ err: error }, 'receiving /stop requests failed'));
    this.#renewalTimer = setInterval(() => this.#renewLeases(), this.#options.leaseTtlMs / 3);
    const keys = await this.#options.deps.store.pendingQueueKeys();
    if (keys.length > 0) this.#log.info({ conversations: keys.length }, 'resuming unfinished messages');
    for (const key of keys) this.wake(key);
    this.#sweepTimer = setInterval(() => void this.#sweep(), this.#options.sweepIntervalMs);
  }

  /** New work for `queueKey`: answer it now unless this or another replica already works on it. */
  wake(queueKey: string): void {
    if (this.#isStopping) return;
    const worker = this.#workers.get(queueKey);
    if (worker !== undefined) {
      worker.hasMore = true;
      return;
    }
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.#workers.set(queueKey, { hasMore: false, done, finish });
    this.#waiting.push(queueKey);
    // Work starts in a later turn of the event loop, after the code that woke it returned.
    if (!this.#isPumpScheduled) {
      this.#isPumpScheduled = true;
      setImmediate(() => {
        this.#isPumpScheduled = false;
        this.#pump();
      });
    }
  }

  /**
   * Stops taking new entries and waits up to `graceMs` for the running ones, then aborts them
   * (they stay in the inbox and resume later). Resolves with the number aborted.
   */
  async drain(graceMs: number): Promise<number> {
    this.#isStopping = true;
    clearInterval(this.#sweepTimer);
    // Keys still in line are left for the next start (their entries stay in the inbox).
    for (const queueKey of this.#waiting.splice(0)) this.#release(queueKey);
    const idle = Promise.all([...this.#workers.values()].map((worker) => worker.done));
    if ((await settlesWithin(idle, graceMs)).isDone) {
      clearInterval(this.#renewalTimer);
      return 0;
    }
    const left = this.#running.size;
    this.#shutdownReason = new Error('gateway shutting down');
    for (const lease of this.#leases.values()) lease.abort(this.#shutdownReason);
    await Promise.all([...this.#workers.values()].map((worker) => worker.done));
    clearInterval(this.#renewalTimer);
    return left;
  }

  async #sweep(): Promise<void> {
    try {
      for (const key of await this.#options.deps.store.pendingQueueKeys()) this.wake(key);
    } catch (error) {
      this.#log.warn({ err: error }, 'looking for unfinished messages failed');
    }
  }

  /** Starts the turns of keys in line while turn slots are free. */
  #pump(): void {
    while (this.#turnsRunning < this.#options.maxConcurrentTurns) {
      const queueKey = this.#waiting.shift();
      if (queueKey === undefined) return;
      const worker = this.#workers.get(queueKey);
      if (worker === undefined) continue;
      worker.hasMore = false;
      this.#turnsRunning += 1;
      void this.#leasedTurn(queueKey)
        .catch((error: unknown): TurnResult => {
          this.#log.error({ err: error, queueKey }, 'turn failed unexpectedly; it is retried later');
          return undefined;
        })
        .then(async (result) => {
          this.#turnsRunning -= 1;
          this.#pump();
          await this.#afterTurn(queueKey, worker, result);
        })
        .catch((error: unknown) => this.#log.error({ err: error, queueKey }, 'scheduling work failed'));
    }
  }

  /**
   * After a turn of `queueKey`: back in line behind the other keys when it answered an entry (more
   * may follow), else out of this process's hands. An entry that failed unexpectedly or was aborted
   * stays first in line in the inbox, for a later wake-up or sweep.
   */
  async #afterTurn(queueKey: string, worker: Worker, result: TurnResult): Promise<void> {
    const isOver = result === DRAINED || result === NOT_TAKEN || result === undefined || result === 'aborted';
    if (!isOver && !this.#isStopping) {
      this.#waiting.push(queueKey);
      this.#pump();
      return;
    }
    // Another replica may have accepted a message after our last look, while we held the lease.
    if (result === DRAINED && (await this.#options.deps.store.queueLength(queueKey).catch(() => 0)) > 0)
      worker.hasMore = true;
    this.#release(queueKey);
    // Work that arrived after the last look would otherwise wait for the sweep.
    if (worker.hasMore) this.wake(queueKey);
  }

  #release(queueKey: string): void {
    const worker = this.#workers.get(queueKey);
    this.#workers.delete(queueKey);
    worker?.finish();
  }

  /** With a turn slot: takes the lease on `queueKey`, answers its next entry, gives the lease back. */
  async #leasedTurn(queueKey: string): Promise<TurnResult> {
    if (this.#isStopping || !(await this.#tryLease(queueKey))) return NOT_TAKEN;
    const { store } = this.#options.deps;
    // Losing the lease (a stall longer than the TTL, a Redis failover) means another replica may
    // take the conversation over: stop at once, as on shutdown, and leave the entry unfinished.
    // One signal covers both.
    const shutdown = new AbortController();
    if (this.#shutdownReason === undefined) this.#leases.set(queueKey, shutdown);
    else shutdown.abort(this.#shutdownReason);
    try {
      if (shutdown.signal.aborted) return NOT_TAKEN;
      let record: InboxRecord | undefined;
      try {
        record = await store.nextEntry(queueKey);
      } catch (error) {
        this.#log.error({ err: error, queueKey }, 'reading the inbox failed');
        return undefined;
      }
      return record === undefined ? DRAINED : await this.#run(record, shutdown.signal);
    } finally {
      this.#leases.delete(queueKey);
      await store.releaseLease(queueKey, this.#owner).catch(() => undefined);
    }
  }

  /** Extends every lease held here; a turn whose lease went to someone else is stopped. */
  #renewLeases(): void {
    const { store } = this.#options.deps;
    for (const [queueKey, lease] of this.#leases) {
      store
        .acquireLease(queueKey, this.#owner, this.#options.leaseTtlMs)
        .then((isHeld) => {
          if (!isHeld && !lease.signal.aborted) {
            this.#log.warn({ queueKey }, 'conversation lease lost; stopping work on it');
            lease.abort(new Error('lease lost'));
          }
        })
        .catch((error: unknown) => this.#log.warn({ err: error, queueKey }, 'lease renewal failed'));
    }
  }

  async #tryLease(queueKey: string): Promise<boolean> {
    try {
      return await this.#options.deps.store.acquireLease(queueKey, this.#owner, this.#options.leaseTtlMs);
    } catch (error) {
      this.#log.warn({ err: error, queueKey }, 'could not take the conversation lease');
      return false;
    }
  }

  /** Runs the turn of `record`; `shutdown` aborts on shutdown and when the conversation's lease was lost. */
  async #run(record: InboxRecord, shutdown: AbortSignal): Promise<TurnOutcome | undefined> {
    const log = this.#log.child({
      account: record.accountId,
      msgId: record.job.message.msgId,
      conversationId: record.job.message.conversationId,
    });
    const startedMs = performance.now();
    const observe = (outcome: string): void =>
      this.#options.deps.metrics.turnDurationSeconds.observe(
        { outcome },
        (performance.now() - startedMs) / 1000,
      );
    // `/stop` aborts the turn's own signal (see #stopHere); shutdown aborts it through the link.
    const turn = linkedSignal([shutdown]);
    this.#running.set(record.queueKey, turn);
    const signals = { shutdown, turn: turn.signal };
    try {
      const outcome = await runTurn(record, this.#options.deps, log, signals);
      observe(outcome);
      if (outcome === 'aborted') log.info('turn aborted by shutdown; it resumes at the next start');
      return outcome;
    } catch (error) {
      observe('failed');
      log.error({ err: error }, 'turn failed unexpectedly; it is retried later');
      return undefined;
    } finally {
      this.#running.delete(record.queueKey);
      turn.dispose();
    }
  }
}
