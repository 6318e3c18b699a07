import type { AccountConfig } from '../../config/types.js';
import { DingTalkAuthError, type GatewayError, describeCause } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { GatewayMetrics } from '../../metrics/metrics.js';
import type { DingTalkHttp } from '../api/http-client.js';
import { openStreamConnection } from '../api/stream-open.js';
import { STREAM_RECONNECT_POLICY, computeBackoffMs } from './backoff.js';
import { StreamFrameHandler, type AckDecision, type CallbackFrame } from './frame-handler.js';
import {
  INITIAL_STREAM_STATE,
  type StreamEffect,
  type StreamEvent,
  type StreamState,
  type StreamStatus,
  transition,
} from './state.js';
import { SocketDrain } from './socket-drain.js';
import { StreamSocket, type StreamSocketListener } from './stream-socket.js';

export type { AckDecision, CallbackFrame } from './frame-handler.js';

export interface StreamClientOptions {
  readonly account: AccountConfig;
  readonly http: DingTalkHttp;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Records the callback and decides the ACK. Runs off the socket path; should resolve quickly. */
  readonly onCallback: (frame: CallbackFrame) => Promise<AckDecision>;
  /** The account cannot run (credentials refused). */
  readonly onFatal: (error: GatewayError) => void;
  /** Jitter source. @defaultValue Math.random */
  readonly random?: () => number;
}

const ALL_STATUSES: readonly StreamStatus[] = [
  'idle',
  'opening',
  'connecting',
  'open',
  'backoff',
  'stopping',
  'stopped',
];

/**
 * Holds one account's DingTalk Stream connection: runs the effects the pure state machine in
 * `state.ts` decides, answers pings, hands callbacks to the bridge and sends their ACKs on the
 * socket they came from (`frame-handler.ts`). On a SYSTEM disconnect it opens a replacement at once
 * and closes the old socket after its in-flight frames were acked (`socket-drain.ts`).
 */
export class StreamClient {
  readonly #options: StreamClientOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  #state: StreamState = INITIAL_STREAM_STATE;
  #current: StreamSocket | undefined;
  readonly #drain: SocketDrain;
  readonly #frames: StreamFrameHandler;
  #ticketAbort: AbortController | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stabilityTimer: NodeJS.Timeout | undefined;
  #lastLossReason = 'start';
  #fatalError: GatewayError | undefined;
  readonly #stopWaiters: (() => void)[] = [];

  constructor(options: StreamClientOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger.child({ component: 'dingtalk.stream', account: options.account.id });
    this.#drain = new SocketDrain(this.#log);
    this.#frames = new StreamFrameHandler({
      accountId: options.account.id,
      metrics: options.metrics,
      log: this.#log,
      drain: this.#drain,
      onCallback: (frame) => this.#options.onCallback(frame),
      onServerDisconnect: (socket) => {
        if (socket === this.#current) this.#dispatch({ type: 'server-disconnect' });
      },
      onCallbackDone: (socket) => {
        this.#closeRetiredIfDrained(socket);
      },
    });
    this.#publishState();
  }

  /** The current lifecycle state (read-only view for /readyz and logs). */
  get state(): StreamState {
    return this.#state;
  }

  start(): void {
    this.#dispatch({ type: 'start' });
  }

  /** Closes every socket (after in-flight ACKs, bounded), cancels pending reconnects. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state.status === 'stopped') {
      await this.#drain.closeRetired();
      return;
    }
    const stopped = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    this.#dispatch({ type: 'stop' });
    await stopped;
  }

  #dispatch(event: StreamEvent): void {
    const from = this.#state;
    const { state, effects } = transition(from, event);
    this.#state = state;
    if (state.status !== from.status) {
      this.#log.info({ from: from.status, to: state.status, event: event.type }, 'stream state changed');
      this.#publishState();
    }
    for (const effect of effects) this.#run(effect);
  }

  #run(effect: StreamEffect): void {
    switch (effect.type) {
      case 'request-ticket':
        void this.#requestTicket();
        return;
      case 'cancel-ticket':
        this.#ticketAbort?.abort();
        return;
      case 'open-socket':
        this.#openSocket(effect.url);
        return;
      case 'terminate-socket':
        this.#clearStabilityTimer();
        this.#current?.terminate();
        this.#current = undefined;
        return;
      case 'close-socket':
        this.#clearStabilityTimer();
        void this.#closeCurrent();
        return;
      case 'retire-socket':
        this.#retireCurrent();
        return;
      case 'schedule-reconnect':
        this.#scheduleReconnect(effect.failures);
        return;
      case 'cancel-reconnect':
        clearTimeout(this.#reconnectTimer);
        return;
      case 'start-stability-timer':
        this.#startStabilityTimer();
        return;
      case 'fail':
        this.#options.onFatal(this.#fatalError ?? new DingTalkAuthError(0, undefined));
        void this.#finishStop();
        return;
      case 'stopped':
        void this.#finishStop();
        return;
    }
  }

  async #requestTicket(): Promise<void> {
    const controller = new AbortController();
    this.#ticketAbort = controller;
    const { account } = this.#options;
    try {
      const url = await openStreamConnection(this.#options.http, {
        apiBase: account.apiBase,
        openPath: account.openPath,
        clientId: account.clientId,
        clientSecret: account.clientSecret,
        subscriptions: account.subscriptions,
        timeoutMs: account.connection.openTimeoutMs,
        signal: controller.signal,
      });
      if (!controller.signal.aborted) this.#dispatch({ type: 'ticket-issued', url });
    } catch (error) {
      if (controller.signal.aborted) return;
      const isFatal = error instanceof DingTalkAuthError;
      if (isFatal) {
        this.#fatalError = error;
        this.#log.error({ err: error }, 'DingTalk refused the credentials; this account stops (no retry)');
      } else {
        this.#lastLossReason = 'open-failed';
        this.#log.warn({ error: describeCause(error) }, 'connections/open failed');
      }
      this.#dispatch({ type: 'ticket-failed', fatal: isFatal });
    }
  }

  #openSocket(url: string): void {
    const { connection } = this.#options.account;
    this.#current = new StreamSocket({
      url,
      handshakeTimeoutMs: connection.openTimeoutMs,
      heartbeatIntervalMs: connection.heartbeatIntervalMs,
      heartbeatTimeoutMs: connection.heartbeatTimeoutMs,
      listener: this.#listener,
    });
    this.#drain.track(this.#current);
  }

  readonly #listener: StreamSocketListener = {
    onOpen: (socket) => {
      if (socket !== this.#current) return;
      this.#log.info({ connId: socket.id }, 'stream connected');
      this.#dispatch({ type: 'socket-open' });
      for (const retired of this.#drain.retiredSockets()) this.#closeRetiredIfDrained(retired);
    },
    onText: (socket, text, isBinary) => {
      if (socket === this.#current || this.#drain.isRetired(socket))
        this.#frames.handle(socket, text, isBinary);
    },
    onLost: (socket, reason, detail) => {
      if (this.#drain.isRetired(socket)) {
        this.#drain.forget(socket);
        this.#log.info({ connId: socket.id, detail }, 'retired stream socket closed');
        return;
      }
      if (socket !== this.#current) return;
      this.#lastLossReason = reason;
      const level = this.#state.status === 'stopping' ? 'info' : 'warn';
      this.#log[level]({ connId: socket.id, reason, detail }, 'stream socket lost');
      this.#drain.releaseWaiters(socket);
      this.#dispatch({ type: 'socket-lost', reason });
    },
  };

  #retireCurrent(): void {
    const socket = this.#current;
    this.#current = undefined;
    this.#clearStabilityTimer();
    this.#options.metrics.reconnects.inc({ account: this.#options.account.id, reason: 'server-disconnect' });
    if (socket === undefined) return;
    this.#drain.retire(socket, this.#options.account.connection.drainTimeoutMs);
  }

  /** Closes a drained retired socket, but only once its replacement is open. */
  #closeRetiredIfDrained(socket: StreamSocket): void {
    if (this.#state.status !== 'open') return;
    this.#drain.closeIfDrained(socket);
  }

  async #closeCurrent(): Promise<void> {
    const socket = this.#current;
    if (socket === undefined) {
      this.#dispatch({ type: 'socket-closed' });
      return;
    }
    await this.#drain.waitDrained(socket, this.#options.account.connection.drainTimeoutMs);
    await socket.close('gateway stopping');
  }

  #scheduleReconnect(failures: number): void {
    const { connection } = this.#options.account;
    const policy = {
      ...STREAM_RECONNECT_POLICY,
      initialDelayMs: connection.reconnectInitialDelayMs,
      maxDelayMs: connection.reconnectMaxDelayMs,
    };
    const delayMs = computeBackoffMs(policy, failures, this.#random);
    this.#options.metrics.reconnects.inc({ account: this.#options.account.id, reason: this.#lastLossReason });
    this.#log.info({ delayMs, failures, reason: this.#lastLossReason }, 'reconnect scheduled');
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#dispatch({ type: 'backoff-elapsed' }), delayMs);
  }

  #startStabilityTimer(): void {
    this.#clearStabilityTimer();
    const socket = this.#current;
    this.#stabilityTimer = setTimeout(() => {
      if (socket === this.#current) this.#dispatch({ type: 'stable' });
    }, this.#options.account.connection.stableAfterMs);
  }

  #clearStabilityTimer(): void {
    clearTimeout(this.#stabilityTimer);
    this.#stabilityTimer = undefined;
  }

  async #finishStop(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    this.#clearStabilityTimer();
    this.#current?.terminate();
    this.#current = undefined;
    await this.#drain.closeRetired();
    for (const resolve of this.#stopWaiters.splice(0)) resolve();
  }

  #publishState(): void {
    const account = this.#options.account.id;
    for (const status of ALL_STATUSES) {
      this.#options.metrics.connectionState.set(
        { account, state: status },
        status === this.#state.status ? 1 : 0,
      );
    }
  }
}
