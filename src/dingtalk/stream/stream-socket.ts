import type { Duplex } from 'node:stream';

import WebSocket from 'ws';

import type { SocketLossReason } from './state.js';

/** Frames larger than this close the socket (ws answers 1009); real bot frames are a few KiB. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

// How long a graceful close may take before the socket is terminated.
const CLOSE_TIMEOUT_MS = 2_000;

export interface StreamSocketListener {
  onOpen(socket: StreamSocket): void;
  onText(socket: StreamSocket, text: string, isBinary: boolean): void;
  /** Called at most once per socket, whatever the cause; the socket is already dead. */
  onLost(socket: StreamSocket, reason: SocketLossReason, detail: string): void;
}

export interface StreamSocketOptions {
  readonly url: string;
  readonly handshakeTimeoutMs: number;
  /** Control pings go out this often. */
  readonly heartbeatIntervalMs: number;
  /** The socket is declared dead when nothing (frame, ping or pong) arrived for this long. */
  readonly heartbeatTimeoutMs: number;
  readonly listener: StreamSocketListener;
  /** Clock for liveness checks. @defaultValue Date.now */
  readonly now?: () => number;
}

let nextSocketId = 1;

/**
 * One Stream WebSocket: the only place that touches `ws`. Handlers are attached before the socket
 * can deliver anything. A control ping goes out every `heartbeatIntervalMs`; any inbound traffic
 * counts as liveness, and silence for `heartbeatTimeoutMs` terminates the socket.
 */
export class StreamSocket {
  readonly id = nextSocketId++;
  readonly #ws: WebSocket;
  readonly #options: StreamSocketOptions;
  readonly #now: () => number;
  #lastSeenMs: number;
  #heartbeat: NodeJS.Timeout | undefined;
  /** The TCP socket under the WebSocket, known once the upgrade was answered. */
  #tcp: Duplex | undefined;
  #isCorked = false;
  #isLost = false;
  #closed: Promise<void>;

  constructor(options: StreamSocketOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#lastSeenMs = this.#now();
    const ws = new WebSocket(options.url, {
      handshakeTimeout: options.handshakeTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
    });
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('upgrade', (response) => {
      this.#tcp = response.socket;
    });
    ws.on('open', () => {
      this.#seen();
      this.#startHeartbeat();
      options.listener.onOpen(this);
    });
    ws.on('message', (data, isBinary) => {
      this.#seen();
      if (this.#isLost) return;
      options.listener.onText(this, rawToText(data), isBinary);
    });
    ws.on('pong', () => this.#seen());
    ws.on('ping', () => this.#seen());
    ws.on('unexpected-response', (_request, response) => {
      response.resume();
      this.#lose('handshake-failed', `upgrade answered HTTP ${response.statusCode ?? 0}`);
    });
    ws.on('error', (error) =>
      this.#lose(ws.readyState === WebSocket.CONNECTING ? 'handshake-failed' : 'error', error.message),
    );
    ws.on('close', (code) => this.#lose('closed', `close code ${code}`));
  }

  get isOpen(): boolean {
    return !this.#isLost && this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a text frame; false when the socket can no longer send. Frames sent in the same tick (the
   * ACKs of one group commit, say) leave in one write: the TCP socket is corked until the next tick.
   */
  send(text: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#corkUntilNextTick();
    this.#ws.send(text);
    return true;
  }

  #corkUntilNextTick(): void {
    const tcp = this.#tcp;
    if (tcp === undefined || this.#isCorked) return;
    this.#isCorked = true;
    tcp.cork();
    process.nextTick(() => this.#uncork());
  }

  /** Lets the frames held by the cork out now (before the socket is dropped, say). */
  #uncork(): void {
    if (!this.#isCorked) return;
    this.#isCorked = false;
    this.#tcp?.uncork();
  }

  /** Closes with 1000 and waits for the close (terminates after a short deadline). */
  async close(reason = 'client closing'): Promise<void> {
    this.#stopHeartbeat();
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    if (this.#ws.readyState === WebSocket.CONNECTING) {
      this.terminate();
    } else {
      this.#ws.close(1000, reason);
    }
    const timer = setTimeout(() => this.#ws.terminate(), CLOSE_TIMEOUT_MS);
    await this.#closed;
    clearTimeout(timer);
  }

  /**
   * Drops the connection at once, except when ws is already closing it with a status code (1009
   * after an oversized frame, say): that close frame is let out, bounded by the close deadline.
   */
  terminate(): void {
    this.#stopHeartbeat();
    // Frames sent earlier in this tick (ACKs) go out before the connection is dropped.
    this.#uncork();
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    if (this.#ws.readyState === WebSocket.CLOSING) {
      setTimeout(() => this.#ws.terminate(), CLOSE_TIMEOUT_MS).unref();
      return;
    }
    this.#ws.terminate();
  }

  /** Resolves when the underlying socket has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  #seen(): void {
    this.#lastSeenMs = this.#now();
  }

  #startHeartbeat(): void {
    this.#heartbeat = setInterval(() => {
      if (this.#now() - this.#lastSeenMs > this.#options.heartbeatTimeoutMs) {
        this.#lose('heartbeat-timeout', `nothing received for ${this.#options.heartbeatTimeoutMs} ms`);
        this.terminate();
        return;
      }
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
    }, this.#options.heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #lose(reason: SocketLossReason, detail: string): void {
    if (this.#isLost) return;
    this.#isLost = true;
    this.#stopHeartbeat();
    this.#options.listener.onLost(this, reason, detail);
  }
}

function rawToText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
