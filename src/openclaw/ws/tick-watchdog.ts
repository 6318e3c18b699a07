/**
 * Drops an open socket that went silent: OpenClaw sends a `tick` every `policy.tickIntervalMs`, so
 * no frame at all for {@link DEAD_AFTER_TICKS} intervals means the connection is dead even if TCP
 * has not noticed (shared/reference/openclaw-api.md §5.8).
 */
import type { Logger } from 'pino';
import type WebSocket from 'ws';

/** OpenClaw's own default when `hello-ok.policy.tickIntervalMs` is missing. */
const DEFAULT_TICK_INTERVAL_MS = 30_000;
/** Silence longer than this many tick intervals means the socket is dead (OpenClaw's advice: 2). */
const DEAD_AFTER_TICKS = 2;

/** The silence watchdog of one connection (one socket watched at a time). @internal */
export class TickWatchdog {
  readonly #log: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastFrameAtMs = 0;

  constructor(log: Logger | undefined) {
    this.#log = log;
  }

  /**
   * Watches `socket` from now on, terminating it once no frame arrived for {@link DEAD_AFTER_TICKS}
   * tick intervals; replaces any socket watched before.
   * @param tickIntervalMs `hello-ok.policy.tickIntervalMs`; @defaultValue {@link DEFAULT_TICK_INTERVAL_MS}
   */
  start(socket: WebSocket, tickIntervalMs: number | undefined): void {
    this.#lastFrameAtMs = Date.now();
    const tickMs = tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS;
    const deadAfterMs = tickMs * DEAD_AFTER_TICKS;
    this.stop();
    this.#timer = setInterval(() => {
      const silentMs = Date.now() - this.#lastFrameAtMs;
      if (silentMs <= deadAfterMs) return;
      this.#log?.warn({ silentMs, tickIntervalMs: tickMs }, 'openclaw connection silent; dropping it');
      socket.terminate();
    }, tickMs);
    this.#timer.unref();
  }

  /** A frame arrived: the connection is alive. */
  markFrame(): void {
    this.#lastFrameAtMs = Date.now();
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
