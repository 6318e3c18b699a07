/**
 * What happens to each text frame of a Stream socket: pings echoed in an ACK, SYSTEM disconnects
 * acked and reported, EVENT frames acked, invalid frames dropped (acked when they carry a
 * messageId), CALLBACK frames handed to the bridge off the socket path and acked on the socket they
 * came from once the bridge decided.
 */
import type { Logger } from '../../log/logger.js';
import type { GatewayMetrics } from '../../metrics/metrics.js';
import { CALLBACK_ACK_DATA, EVENT_ACK_DATA, ackFrame, parseFrame } from './frames.js';
import type { SocketDrain } from './socket-drain.js';
import type { StreamSocket } from './stream-socket.js';

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

/** Options of {@link StreamFrameHandler}. @internal */
export interface StreamFrameHandlerOptions {
  readonly accountId: string;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Counts the callbacks in flight per socket. */
  readonly drain: SocketDrain;
  /** Records the callback and decides the ACK; a rejection counts as `no-ack`. */
  readonly onCallback: (frame: CallbackFrame) => Promise<AckDecision>;
  /** The server asked `socket` to disconnect (the request is already acked). */
  readonly onServerDisconnect: (socket: StreamSocket) => void;
  /** A callback of `socket` was answered and counted out of the drain. */
  readonly onCallbackDone: (socket: StreamSocket) => void;
}

/** Handles the frames of one account's sockets. Never throws from {@link handle}. @internal */
export class StreamFrameHandler {
  readonly #options: StreamFrameHandlerOptions;
  readonly #log: Logger;

  constructor(options: StreamFrameHandlerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** Handles one text (or binary, decoded) frame that arrived on `socket`. */
  handle(socket: StreamSocket, text: string, isBinary: boolean): void {
    const arrivedAtMs = performance.now();
    const frame = parseFrame(text);
    this.#options.metrics.framesReceived.inc({ account: this.#options.accountId, kind: frame.kind });
    switch (frame.kind) {
      case 'ping':
        this.#ack(socket, frame.messageId, frame.data);
        return;
      case 'disconnect':
        this.#log.info({ connId: socket.id, reason: frame.reason }, 'server asked to disconnect');
        if (frame.messageId !== undefined) this.#ack(socket, frame.messageId, CALLBACK_ACK_DATA);
        this.#options.onServerDisconnect(socket);
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
        this.#options.drain.callbackStarted(socket);
        void this.#runCallback(socket, arrivedAtMs, frame.messageId, frame.topic, frame.data);
        return;
    }
  }

  async #runCallback(
    socket: StreamSocket,
    arrivedAtMs: number,
    messageId: string,
    topic: string,
    data: unknown,
  ): Promise<void> {
    let decision: AckDecision;
    try {
      decision = await this.#options.onCallback({
        accountId: this.#options.accountId,
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
    if (decision === 'ack' && this.#ack(socket, messageId, CALLBACK_ACK_DATA)) {
      this.#options.metrics.messagesAcked.inc({ account: this.#options.accountId });
      this.#options.metrics.messageAckSeconds.observe((performance.now() - arrivedAtMs) / 1000);
    }
    this.#options.drain.callbackFinished(socket);
    this.#options.onCallbackDone(socket);
  }

  /** Writes an ACK frame; false when the socket could no longer send it. */
  #ack(socket: StreamSocket, messageId: string, data: string): boolean {
    if (socket.send(ackFrame(messageId, data))) {
      this.#options.metrics.framesAcked.inc({ account: this.#options.accountId });
      return true;
    }
    this.#log.warn({ connId: socket.id, messageId }, 'socket closed before the ACK could be sent');
    return false;
  }
}
