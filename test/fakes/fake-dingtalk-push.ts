/**
 * Stream half of the fake DingTalk, message level: what is pushed (CALLBACK, EVENT, SYSTEM and raw
 * frames), to which connection, with which messageId, and redelivery of pushes nobody acknowledged.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { isRecord, type FakeDingTalkState } from './fake-dingtalk-state.js';
import type { ConnectionRecord, FakeStreamConnections } from './fake-dingtalk-stream.js';
import type {
  DownstreamFrame,
  FakeConnection,
  PushedFrame,
  PushOptions,
  PushTarget,
  RecordedSentFrame,
} from './fake-dingtalk-types.js';

/**
 * Builds and routes downstream frames over the sockets of a {@link FakeStreamConnections}. `pushes` is
 * exposed read-only by `FakeDingTalk`.
 * @internal
 */
export class FakeStreamPusher {
  readonly pushes: PushedFrame[] = [];
  readonly #state: FakeDingTalkState;
  readonly #stream: FakeStreamConnections;
  #messageCounter = 0;
  readonly #messageIdPrefix = randomBytes(4).toString('hex');
  readonly #pingInterval: NodeJS.Timeout | undefined;

  /** Starts the periodic SYSTEM pings when `pingIntervalMs` is set. */
  constructor(state: FakeDingTalkState, stream: FakeStreamConnections) {
    this.#state = state;
    this.#stream = stream;
    const { pingIntervalMs } = state.options;
    if (pingIntervalMs !== undefined) {
      this.#pingInterval = setInterval(() => {
        for (const connection of stream.connections.filter((c) => c.isOpen)) this.sendPing({ connection });
      }, pingIntervalMs);
    }
  }

  /** Stops the periodic SYSTEM pings. */
  close(): void {
    clearInterval(this.#pingInterval);
  }

  /** Implements `FakeDingTalk.pushCallback`. */
  pushCallback(topic: string, data: unknown, options: PushOptions = {}): PushedFrame {
    const encoded = typeof data === 'string' ? data : JSON.stringify(data);
    return this.#push('CALLBACK', topic, encoded, options);
  }

  /** Implements `FakeDingTalk.pushEvent`. */
  pushEvent(eventType: string, data: unknown, options: PushOptions = {}): PushedFrame {
    const nowMs = Date.now();
    const headers = {
      eventType,
      eventId: randomBytes(15).toString('hex'),
      eventCorpId: 'dingc5344d64bd47d252',
      eventBornTime: String(nowMs),
      eventUnifiedAppId: this.#state.options.appId,
      ...options.headers,
    };
    const encoded = typeof data === 'string' ? data : JSON.stringify(data);
    return this.#push('EVENT', '*', encoded, { ...options, headers });
  }

  /** Implements `FakeDingTalk.pushFrame`. */
  pushFrame(frame: object, options: PushTarget = {}): RecordedSentFrame {
    const connection = this.#target(options.connection, () => true);
    const headers: unknown = (frame as Record<string, unknown>)['headers'];
    const messageId =
      isRecord(headers) && typeof headers['messageId'] === 'string' ? headers['messageId'] : undefined;
    return this.#stream.send(connection, JSON.stringify(frame), false, messageId);
  }

  /** Implements `FakeDingTalk.pushRaw`. */
  pushRaw(payload: string | Buffer, options: PushTarget & { binary?: boolean } = {}): RecordedSentFrame {
    const connection = this.#target(options.connection, () => true);
    const isBinary = options.binary ?? false;
    const text = typeof payload === 'string' ? payload : payload.toString('utf8');
    return this.#stream.send(connection, isBinary ? Buffer.from(payload) : text, isBinary, undefined);
  }

  /** Implements `FakeDingTalk.sendPing`. */
  sendPing(options: PushTarget & { opaque?: string } = {}): string {
    const connection = this.#target(options.connection, () => true);
    const data = JSON.stringify({ opaque: options.opaque ?? randomUUID() });
    return this.#sendSystem(connection, 'ping', data);
  }

  /** Implements `FakeDingTalk.sendDisconnect`. */
  sendDisconnect(options: PushTarget & { reason?: string; dropAfterMs?: number } = {}): string {
    const connection = this.#target(options.connection, (c) => !c.isDraining);
    const data = JSON.stringify({ reason: options.reason ?? 'connection is expired' });
    const messageId = this.#sendSystem(connection, 'disconnect', data);
    connection.isDraining = true;
    this.#state.setTimer(() => {
      if (connection.isOpen) this.#stream.dropConnection(connection, 'terminate');
    }, options.dropAfterMs ?? this.#state.options.disconnectDropAfterMs);
    return messageId;
  }

  #newMessageId(): string {
    this.#messageCounter += 1;
    const pid = 100 + (this.#messageCounter % 900);
    return `${this.#messageIdPrefix}_${pid}_${Date.now().toString(16)}_${this.#messageCounter.toString(16)}`;
  }

  /** The chosen connection, or a random live, non-draining one accepted by `isEligible`. */
  #target(
    connection: FakeConnection | undefined,
    isEligible: (c: ConnectionRecord) => boolean,
  ): ConnectionRecord {
    if (connection !== undefined) {
      const record = this.#stream.record(connection);
      if (!record.isOpen) throw new Error(`FakeDingTalk: connection ${record.id} is not open`);
      return record;
    }
    const candidates = this.#stream.connections.filter((c) => c.isOpen && !c.isDraining && isEligible(c));
    const index = Math.min(
      Math.floor(this.#state.options.random() * candidates.length),
      candidates.length - 1,
    );
    const picked = candidates[index];
    if (picked === undefined) throw new Error('FakeDingTalk: no eligible live connection to push to');
    return picked;
  }

  #sendSystem(connection: ConnectionRecord, topic: 'ping' | 'disconnect', data: string): string {
    const messageId = this.#newMessageId();
    const frame: DownstreamFrame = {
      specVersion: '1.0',
      type: 'SYSTEM',
      headers: { contentType: 'application/json', messageId, time: String(Date.now()), topic },
      data,
    };
    this.#stream.send(connection, JSON.stringify(frame), false, messageId);
    return messageId;
  }

  #push(type: 'CALLBACK' | 'EVENT', topic: string, data: string, options: PushOptions): PushedFrame {
    const pushed = this.#deliver(type, topic, data, options, undefined);
    const redeliverAfterMs = options.redeliverAfterMs ?? this.#state.options.redeliverAfterMs;
    if (redeliverAfterMs !== undefined) {
      this.#scheduleRedelivery(
        pushed,
        options.headers,
        redeliverAfterMs,
        this.#state.options.maxRedeliveries,
      );
    }
    return pushed;
  }

  #deliver(
    type: 'CALLBACK' | 'EVENT',
    topic: string,
    data: string,
    options: PushOptions,
    redeliveryOf: string | undefined,
  ): PushedFrame {
    const connection = this.#target(options.connection, (c) =>
      c.subscriptions.some((s) => s.type === type && (type === 'EVENT' || s.topic === topic)),
    );
    const messageId = options.messageId ?? this.#newMessageId();
    const frame: DownstreamFrame = {
      specVersion: '1.0',
      type,
      headers: {
        appId: this.#state.options.appId,
        connectionId: connection.id,
        contentType: 'application/json',
        messageId,
        time: String(Date.now()),
        topic,
        ...options.headers,
      },
      data,
    };
    this.#stream.send(connection, JSON.stringify(frame), false, messageId);
    const pushed: PushedFrame = {
      messageId,
      frame,
      connectionId: connection.id,
      atMs: Date.now(),
      redeliveryOf,
    };
    this.pushes.push(pushed);
    return pushed;
  }

  /**
   * Re-pushes an unacked frame to a random eligible connection with a new messageId and the same data
   * (§1.8: the real server does this after an undocumented delay). Waits another round when nobody is
   * connected, since the real server keeps the message too.
   */
  #scheduleRedelivery(
    pushed: PushedFrame,
    headers: Record<string, string> | undefined,
    delayMs: number,
    remaining: number,
  ): void {
    if (remaining <= 0) return;
    this.#state.setTimer(() => {
      if (this.#stream.ackedMessageIds.has(pushed.messageId)) return;
      const { type, data } = pushed.frame;
      const topic = pushed.frame.headers['topic'] ?? '';
      let again: PushedFrame;
      try {
        const deliveryType = type === 'EVENT' ? 'EVENT' : 'CALLBACK';
        again = this.#deliver(
          deliveryType,
          topic,
          data,
          { headers },
          pushed.redeliveryOf ?? pushed.messageId,
        );
      } catch {
        this.#scheduleRedelivery(pushed, headers, delayMs, remaining);
        return;
      }
      this.#scheduleRedelivery(again, headers, delayMs, remaining - 1);
    }, delayMs);
  }
}
