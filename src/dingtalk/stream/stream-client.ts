import type { AccountConfig } from '../../config/types.js';
import { DingTalkAuthError, type GatewayError, describeCause } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { GatewayMetrics } from '../../metrics/metrics.js';
import type { DingTalkHttp } from '../api/http-client.js';
import { openStreamConnection } from '../api/stream-open.js';
import { STREAM_RECONNECT_POLICY, computeBackoffMs } from './backoff.js';
import { CALLBACK_ACK_DATA, EVENT_ACK_DATA, ackFrame, parseFrame } from './frames.js';
import {
  INITIAL_STREAM_STATE,
  type StreamEffect,
  type StreamEvent,
  type StreamState,
  type StreamStatus,
  transition,
} from './state.js';
import { StreamSocket, type StreamSocketListener } from './stream-socket.js';

/** A bot-message (or other CALLBACK topic) delivery, handed to the bridge. */
export interface CallbackFrame {
  readonly accountId: string;
  /** Id of this delivery; a redelivery of the same message gets a new one. */
  readonly messageId: string;
  readonly topic: string;
  /** The decoded `data` JSON, not yet validated. */
  readonly data: unknown;
}

/** `ack`: the frame was recorded (or deliberately dropped); `no-ack`: let DingTalk deliver it again. */
export type AckDecision = 'ack' | 'no-ack';

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
 * socket they came from. On a SYSTEM disconnect it opens a replacement at once and closes the old
 * socket after its in-flight frames were acked.
 */
export class StreamClient {
  readonly #options: StreamClientOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  #state: StreamState = INITIAL_STREAM_STATE;
  #current: StreamSocket | undefined;
  readonly #retired = new Map<StreamSocket, NodeJS.Timeout>();
  readonly #pending = new Map<StreamSocket, number>();
  readonly #drainWaiters = new Map<StreamSocket, (() => void)[]>();
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
      await this.#closeRetired();
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
    this.#pending.set(this.#current, 0);
  }

  readonly #listener: StreamSocketListener = {
    onOpen: (socket) => {
      if (socket !== this.#current) return;
      this.#log.info({ connId: socket.id }, 'stream connected');
      this.#dispatch({ type: 'socket-open' });
      for (const retired of this.#retired.keys()) this.#closeRetiredIfDrained(retired);
    },
    onText: (socket, text, isBinary) => {
      if (socket === this.#current || this.#retired.has(socket)) this.#handleText(socket, text, isBinary);
    },
    onLost: (socket, reason, detail) => {
      if (this.#retired.has(socket)) {
        this.#forgetRetired(socket);
        this.#log.info({ connId: socket.id, detail }, 'retired stream socket closed');
        return;
      }
      if (socket !== this.#current) return;
      this.#lastLossReason = reason;
      const level = this.#state.status === 'stopping' ? 'info' : 'warn';
      this.#log[level]({ connId: socket.id, reason, detail }, 'stream socket lost');
      this.#releaseDrainWaiters(socket);
      this.#dispatch({ type: 'socket-lost', reason });
    },
  };

  #handleText(socket: StreamSocket, text: string, isBinary: boolean): void {
    const frame = parseFrame(text);
    this.#options.metrics.framesReceived.inc({ account: this.#options.account.id, kind: frame.kind });
    switch (frame.kind) {
      case 'ping':
        this.#ack(socket, frame.messageId, frame.data);
        return;
      case 'disconnect':
        this.#log.info({ connId: socket.id, reason: frame.reason }, 'server asked to disconnect');
        if (frame.messageId !== undefined) this.#ack(socket, frame.messageId, CALLBACK_ACK_DATA);
        if (socket === this.#current) this.#dispatch({ type: 'server-disconnect' });
        return;
      case 'event':
        this.#log.debug({ connId: socket.id, messageId: frame.messageId, topic: frame.topic }, 'event frame');
        this.#ack(socket, frame.messageId, EVENT_ACK_DATA);
        return;
      case 'invalid':
        this.#log.warn(
          {
            connId: socket.id,
            messageId: frame.messageId,
            reason: frame.reason,
            isBinary,
            chars: text.length,
          },
          'invalid stream frame dropped',
        );
        if (frame.messageId !== undefined) this.#ack(socket, frame.messageId, CALLBACK_ACK_DATA);
        return;
      case 'callback':
        this.#log.debug(
          { connId: socket.id, messageId: frame.messageId, topic: frame.topic },
          'callback frame',
        );
        this.#pending.set(socket, (this.#pending.get(socket) ?? 0) + 1);
        void this.#runCallback(socket, frame.messageId, frame.topic, frame.data);
        return;
    }
  }

  async #runCallback(socket: StreamSocket, messageId: string, topic: string, data: unknown): Promise<void> {
    let decision: AckDecision;
    try {
      decision = await this.#options.onCallback({
        accountId: this.#options.account.id,
        messageId,
        topic,
        data,
      });
    } catch (error) {
      this.#log.error(
        { err: error, messageId },
        'callback handler failed; frame left unacked for redelivery',
      );
      decision = 'no-ack';
    }
    if (decision === 'ack' && this.#ack(socket, messageId, CALLBACK_ACK_DATA))
      this.#options.metrics.messagesAcked.inc({ account: this.#options.account.id });
    const left = (this.#pending.get(socket) ?? 1) - 1;
    this.#pending.set(socket, left);
    if (left === 0) this.#releaseDrainWaiters(socket);
    this.#closeRetiredIfDrained(socket);
  }

  /** Writes an ACK frame; false when the socket could no longer send it. */
  #ack(socket: StreamSocket, messageId: string, data: string): boolean {
    if (socket.send(ackFrame(messageId, data))) {
      this.#options.metrics.framesAcked.inc({ account: this.#options.account.id });
      return true;
    }
    this.#log.warn({ connId: socket.id, messageId }, 'socket closed before the ACK could be sent');
    return false;
  }

  #retireCurrent(): void {
    const socket = this.#current;
    this.#current = undefined;
    this.#clearStabilityTimer();
    this.#options.metrics.reconnects.inc({ account: this.#options.account.id, reason: 'server-disconnect' });
    if (socket === undefined) return;
    const deadline = setTimeout(() => {
      this.#log.warn({ connId: socket.id }, 'retired socket did not drain in time; terminating');
      this.#forgetRetired(socket);
      socket.terminate();
    }, this.#options.account.connection.drainTimeoutMs);
    this.#retired.set(socket, deadline);
  }

  #closeRetiredIfDrained(socket: StreamSocket): void {
    if (!this.#retired.has(socket) || (this.#pending.get(socket) ?? 0) > 0) return;
    if (this.#state.status !== 'open') return;
    this.#forgetRetired(socket);
    void socket.close('replaced after server disconnect');
  }

  #forgetRetired(socket: StreamSocket): void {
    clearTimeout(this.#retired.get(socket));
    this.#retired.delete(socket);
    this.#pending.delete(socket);
    this.#releaseDrainWaiters(socket);
  }

  async #closeRetired(): Promise<void> {
    const sockets = [...this.#retired.keys()];
    for (const socket of sockets) this.#forgetRetired(socket);
    await Promise.all(sockets.map((socket) => socket.close('gateway stopping')));
  }

  async #closeCurrent(): Promise<void> {
    const socket = this.#current;
    if (socket === undefined) {
      this.#dispatch({ type: 'socket-closed' });
      return;
    }
    await this.#waitDrained(socket, this.#options.account.connection.drainTimeoutMs);
    await socket.close('gateway stopping');
  }

  #waitDrained(socket: StreamSocket, timeoutMs: number): Promise<void> {
    if ((this.#pending.get(socket) ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const waiters = this.#drainWaiters.get(socket) ?? [];
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#drainWaiters.set(socket, waiters);
    });
  }

  #releaseDrainWaiters(socket: StreamSocket): void {
    const waiters = this.#drainWaiters.get(socket);
    this.#drainWaiters.delete(socket);
    for (const waiter of waiters ?? []) waiter();
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
    await this.#closeRetired();
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
