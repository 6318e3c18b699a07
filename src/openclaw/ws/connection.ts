/**
 * One long-lived operator connection to an OpenClaw gateway's WebSocket protocol: connect attempts,
 * event fan-out and reconnects with backoff (shared/reference/openclaw-api.md §5.2, §5.8). The
 * handshake is in `connect-socket.ts`, one request's exchange in `send-request.ts`, the tick
 * watchdog in `tick-watchdog.ts`, the public types in `connection-options.ts`.
 */
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { z } from 'zod';

import { computeBackoffMs, type BackoffPolicy } from '../../dingtalk/stream/backoff.js';
import { OpenClawAuthError, OpenClawRpcError, OpenClawUnavailableError, GatewayError } from '../../errors.js';
import { connectSocket, type OpenSocket } from './connect-socket.js';
import {
  WS_RECONNECT_POLICY,
  type ConnectionListener,
  type ConnectionState,
  type OpenClawWsConnectionOptions,
  type RequestOptions,
} from './connection-options.js';
import { PendingRequests } from './pending-requests.js';
import { sendRequest } from './send-request.js';
import { closeSocket, parseFrame } from './socket-io.js';
import { TickWatchdog } from './tick-watchdog.js';

export { WS_RECONNECT_POLICY } from './connection-options.js';
export type {
  ConnectionListener,
  ConnectionState,
  OpenClawWsConnectionOptions,
  RequestOptions,
} from './connection-options.js';

/**
 * A connection open this long resets the reconnect backoff; a shorter one does not, so a gateway that
 * accepts and then drops us at once is retried with growing delays, not in a tight loop.
 */
const STABLE_AFTER_MS = 10_000;

/**
 * The connection. Nothing happens until {@link ready} is first called; from then on it stays open,
 * reconnecting with backoff whenever the socket drops, until {@link close} — except after a refused
 * handshake ({@link OpenClawAuthError}), where it waits for the next `ready()`.
 */
export class OpenClawWsConnection {
  readonly #options: OpenClawWsConnectionOptions;
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  readonly #log: Logger | undefined;
  readonly #listeners = new Set<ConnectionListener>();
  readonly #pending = new PendingRequests('gw');
  readonly #watchdog: TickWatchdog;
  #state: ConnectionState = 'idle';
  #open: OpenSocket | undefined;
  #attempt: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #generation = 0;
  #closed: Promise<void> | undefined;
  /** The socket of the handshake in progress, ended at once by `close()`. */
  #handshakeSocket: WebSocket | undefined;

  constructor(options: OpenClawWsConnectionOptions) {
    this.#options = options;
    this.#policy = options.reconnectPolicy ?? WS_RECONNECT_POLICY;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger;
    this.#watchdog = new TickWatchdog(options.logger);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Successful opens so far. */
  get generation(): number {
    return this.#generation;
  }

  /** The scopes OpenClaw granted the open connection (empty when not open). */
  get grantedScopes(): readonly string[] {
    return this.#open?.hello.auth.scopes ?? [];
  }

  /** `hello-ok.policy.attachments` of the open connection (per-attachment decoded byte ceilings). */
  get attachmentLimits():
    { readonly maxBytes?: number | undefined; readonly maxImageBytes?: number | undefined } | undefined {
    return this.#open?.hello.policy.attachments;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ConnectionListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Resolves once the connection is open. When it is not, connects now (one attempt shared by all
   * callers, even during a reconnect backoff) and rejects with that attempt's failure:
   * {@link OpenClawUnavailableError} or {@link OpenClawAuthError}.
   */
  ready(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(closedError());
    if (this.#state === 'open') return Promise.resolve();
    if (this.#attempt !== undefined) return this.#attempt;
    this.#clearReconnectTimer();
    return this.#startAttempt();
  }

  /**
   * Sends one request on the open connection and returns its payload parsed with `schema`. Rejects
   * with {@link OpenClawUnavailableError} (not open, connection lost, no answer in time),
   * {@link OpenClawRpcError} (`ok: false`, or a payload `schema` rejects) or the signal's reason.
   */
  async request<T>(
    method: string,
    params: Record<string, unknown>,
    schema: z.ZodType<T>,
    options: RequestOptions = {},
  ): Promise<T> {
    const open = this.#open;
    if (open === undefined || this.#state !== 'open') {
      throw new OpenClawUnavailableError(new Error(`not connected (${this.#state})`));
    }
    return sendRequest({
      open,
      pending: this.#pending,
      method,
      params,
      schema,
      options,
      defaultTimeoutMs: this.#options.requestTimeoutMs,
      log: this.#log,
    });
  }

  /** Closes the socket, cancels any reconnect, rejects waiting requests. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closed';
    this.#clearReconnectTimer();
    this.#watchdog.stop();
    this.#pending.rejectAll(closedError());
    const open = this.#open;
    this.#open = undefined;
    this.#handshakeSocket?.terminate();
    await this.#attempt?.catch(() => undefined);
    if (open !== undefined) await closeSocket(open.socket);
  }

  #startAttempt(): Promise<void> {
    this.#state = 'connecting';
    const attempt = this.#connectOnce().then(
      (open) => {
        this.#attempt = undefined;
        this.#onOpened(open);
      },
      (error: unknown) => {
        this.#attempt = undefined;
        const failure = error instanceof GatewayError ? error : new OpenClawUnavailableError(error);
        this.#onAttemptFailed(failure);
        throw failure;
      },
    );
    this.#attempt = attempt;
    return attempt;
  }

  #onOpened(open: OpenSocket): void {
    if (this.#state === 'closed') {
      void closeSocket(open.socket);
      return;
    }
    this.#open = open;
    this.#state = 'open';
    open.openedAtMs = Date.now();
    this.#generation += 1;
    open.socket.on('message', (data: WebSocket.RawData) => {
      this.#onMessage(data);
    });
    open.socket.once('close', (code: number, reason: Buffer) => {
      this.#onSocketClosed(open, code, reason.toString('utf8'));
    });
    open.socket.on('error', (error: Error) => {
      this.#log?.warn({ err: error }, 'openclaw socket error');
    });
    this.#watchdog.start(open.socket, open.hello.policy.tickIntervalMs);
    this.#log?.info(
      {
        url: this.#options.url,
        generation: this.#generation,
        serverVersion: open.hello.server?.version,
        scopes: open.hello.auth.scopes,
      },
      'openclaw connection open',
    );
    this.#notify((listener) => listener.onOpen?.(this.#generation));
  }

  #onAttemptFailed(error: GatewayError): void {
    if (this.#state === 'closed') return;
    if (error instanceof OpenClawAuthError) {
      this.#state = 'idle';
      this.#log?.error(
        { err: error, pairingRequestId: error.pairingRequestId },
        'openclaw refused the connection',
      );
      this.#notify((listener) => listener.onGaveUp?.(error));
      return;
    }
    this.#log?.warn({ err: error }, 'openclaw connect failed');
    const cause = error.cause;
    const retryAfterMs = cause instanceof OpenClawRpcError ? cause.retryAfterMs : undefined;
    this.#scheduleReconnect(retryAfterMs);
  }

  #onSocketClosed(open: OpenSocket, code: number, reason: string): void {
    if (this.#open !== open) return;
    this.#open = undefined;
    this.#watchdog.stop();
    if (Date.now() - (open.openedAtMs ?? 0) >= STABLE_AFTER_MS) this.#failures = 0;
    const error = new OpenClawUnavailableError(
      new Error(`connection lost (close ${code}${reason === '' ? '' : ` ${reason}`})`),
    );
    this.#pending.rejectAll(error);
    if (this.#state === 'closed') return;
    this.#log?.warn({ code, reason }, 'openclaw connection lost');
    this.#notify((listener) => listener.onLost?.(error));
    this.#scheduleReconnect(undefined);
  }

  #scheduleReconnect(retryAfterMs: number | undefined): void {
    this.#failures += 1;
    const delayMs = Math.max(computeBackoffMs(this.#policy, this.#failures, this.#random), retryAfterMs ?? 0);
    this.#state = 'waiting';
    this.#clearReconnectTimer();
    this.#log?.info({ delayMs, attempt: this.#failures }, 'openclaw reconnect scheduled');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state !== 'waiting') return;
      // Failures are handled (and the next reconnect scheduled) in #onAttemptFailed.
      this.#startAttempt().catch(() => undefined);
    }, delayMs);
  }

  #clearReconnectTimer(): void {
    if (this.#reconnectTimer === undefined) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
  }

  #onMessage(data: WebSocket.RawData): void {
    this.#watchdog.markFrame();
    const frame = parseFrame(data);
    if (frame === undefined) {
      this.#log?.warn('unreadable frame from openclaw skipped');
      return;
    }
    if (frame.type === 'res') {
      if (!this.#pending.settle(frame))
        this.#log?.debug({ requestId: frame.id }, 'answer to no pending request');
      return;
    }
    if (frame.event === 'shutdown') this.#log?.info('openclaw announced a shutdown');
    this.#notify((listener) => listener.onEvent?.(frame));
  }

  #notify(call: (listener: ConnectionListener) => void): void {
    for (const listener of [...this.#listeners]) {
      try {
        call(listener);
      } catch (error) {
        this.#log?.error({ err: error }, 'openclaw connection listener threw');
      }
    }
  }

  /** Opens a socket and runs the handshake; resolves with the open socket and its `hello-ok`. */
  #connectOnce(): Promise<OpenSocket> {
    const attempt = connectSocket({
      options: this.#options,
      connectRequestId: () => `connect-${this.#generation + 1}-${this.#failures + 1}`,
      onSettled: () => {
        this.#handshakeSocket = undefined;
      },
      log: this.#log,
    });
    this.#handshakeSocket = attempt.socket;
    return attempt.opened;
  }
}

function closedError(): OpenClawUnavailableError {
  return new OpenClawUnavailableError(new Error('the OpenClaw connection is closed'));
}
