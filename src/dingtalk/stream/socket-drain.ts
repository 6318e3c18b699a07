/**
 * The callbacks in flight on each Stream socket, and the sockets retired after a SYSTEM disconnect.
 * A retired socket stays open until the ACKs of its in-flight callbacks were sent, then closes; it
 * is terminated if that takes longer than its drain deadline. `stop()` uses the same counts to let
 * the current socket drain before closing it.
 */
import type { Logger } from '../../log/logger.js';
import type { StreamSocket } from './stream-socket.js';

/** Per-socket callback counts and retired sockets of one {@link StreamClient}. @internal */
export class SocketDrain {
  readonly #log: Logger;
  /** Retired sockets and their drain deadlines. */
  readonly #retired = new Map<StreamSocket, NodeJS.Timeout>();
  /** Callbacks handed to the bridge and not yet answered, per socket. */
  readonly #pending = new Map<StreamSocket, number>();
  readonly #drainWaiters = new Map<StreamSocket, (() => void)[]>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts counting the callbacks of a new socket. */
  track(socket: StreamSocket): void {
    this.#pending.set(socket, 0);
  }

  /** A callback of `socket` was handed to the bridge. */
  callbackStarted(socket: StreamSocket): void {
    this.#pending.set(socket, (this.#pending.get(socket) ?? 0) + 1);
  }

  /** A callback of `socket` was answered (acked or not); the last one releases drain waiters. */
  callbackFinished(socket: StreamSocket): void {
    const left = (this.#pending.get(socket) ?? 1) - 1;
    this.#pending.set(socket, left);
    if (left === 0) this.releaseWaiters(socket);
  }

  isRetired(socket: StreamSocket): boolean {
    return this.#retired.has(socket);
  }

  /** The retired sockets (live view: closing one while iterating is safe). */
  retiredSockets(): Iterable<StreamSocket> {
    return this.#retired.keys();
  }

  /** Keeps `socket` open to drain; terminates it if still retired after `drainTimeoutMs`. */
  retire(socket: StreamSocket, drainTimeoutMs: number): void {
    const deadline = setTimeout(() => {
      this.#log.warn({ connId: socket.id }, 'retired socket did not drain in time; terminating');
      this.forget(socket);
      socket.terminate();
    }, drainTimeoutMs);
    this.#retired.set(socket, deadline);
  }

  /**
   * Closes `socket` if it is retired and has no callback in flight. The caller checks first that
   * its replacement is open.
   */
  closeIfDrained(socket: StreamSocket): void {
    if (!this.#retired.has(socket) || (this.#pending.get(socket) ?? 0) > 0) return;
    this.forget(socket);
    void socket.close('replaced after server disconnect');
  }

  /** Drops everything known about `socket` (it is gone) and releases its drain waiters. */
  forget(socket: StreamSocket): void {
    clearTimeout(this.#retired.get(socket));
    this.#retired.delete(socket);
    this.#pending.delete(socket);
    this.releaseWaiters(socket);
  }

  /** Closes every retired socket at once (the client is stopping). */
  async closeRetired(): Promise<void> {
    const sockets = [...this.#retired.keys()];
    for (const socket of sockets) this.forget(socket);
    await Promise.all(sockets.map((socket) => socket.close('gateway stopping')));
  }

  /** Resolves once `socket` has no callback in flight, or after `timeoutMs`. Never rejects. */
  waitDrained(socket: StreamSocket, timeoutMs: number): Promise<void> {
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

  /** Resolves every {@link waitDrained} of `socket` now. */
  releaseWaiters(socket: StreamSocket): void {
    const waiters = this.#drainWaiters.get(socket);
    this.#drainWaiters.delete(socket);
    for (const waiter of waiters ?? []) waiter();
  }
}
