/**
 * Stream half of the fake DingTalk, socket level: WebSocket upgrades with ticket checks, accepted
 * connections, and a record of every frame in both directions (ACKs and control frames included).
 * What is pushed, and redelivery, live in `fake-dingtalk-push.ts`.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';

import {
  isRecord,
  newRequestId,
  tryParseJson,
  type FakeDingTalkState,
  type InjectedFailure,
  type TicketRecord,
} from './fake-dingtalk-state.js';
import { DEFAULT_WAIT_TIMEOUT_MS } from './fake-dingtalk-types.js';
import type {
  FakeConnection,
  RecordedAck,
  RecordedControlFrame,
  RecordedSentFrame,
  RecordedUpstreamFrame,
  RejectedUpgrade,
  StreamSubscription,
} from './fake-dingtalk-types.js';

/** The server-side record of one accepted socket; mutable where the fake updates it. @internal */
export class ConnectionRecord implements FakeConnection {
  readonly id = randomUUID();
  readonly ticket: string;
  readonly subscriptions: readonly StreamSubscription[];
  readonly openRequestBody: unknown;
  readonly acceptedAtMs = Date.now();
  readonly socket: WebSocket;
  isDraining = false;
  closedAtMs: number | undefined;
  closeCode: number | undefined;
  closeReason: string | undefined;
  serverAction: 'close' | 'terminate' | undefined;
  controlPingsReceived = 0;
  readonly #state: FakeDingTalkState;

  constructor(ticket: TicketRecord, socket: WebSocket, state: FakeDingTalkState) {
    this.ticket = ticket.ticket;
    this.subscriptions = ticket.subscriptions;
    this.openRequestBody = ticket.openRequestBody;
    this.socket = socket;
    this.#state = state;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  waitForClose(timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    return this.#state
      .waitFor(
        () => (this.closedAtMs !== undefined ? true : undefined),
        timeoutMs,
        () => `close of connection ${this.id}`,
      )
      .then(() => undefined);
  }
}

/**
 * Accepts and tracks the Stream sockets of one fake. The record arrays are exposed read-only by
 * `FakeDingTalk`.
 * @internal
 */
export class FakeStreamConnections {
  readonly connections: ConnectionRecord[] = [];
  readonly rejectedUpgrades: RejectedUpgrade[] = [];
  readonly sentFrames: RecordedSentFrame[] = [];
  readonly upstreamFrames: RecordedUpstreamFrame[] = [];
  readonly acks: RecordedAck[] = [];
  readonly controlFrames: RecordedControlFrame[] = [];
  readonly ackedMessageIds = new Set<string>();
  readonly #sentMessageIds = new Set<string>();
  readonly #state: FakeDingTalkState;
  readonly #wss: WebSocketServer;
  readonly #rawSockets = new Set<Duplex>();
  #upgradeFailure: InjectedFailure | undefined;

  constructor(state: FakeDingTalkState) {
    this.#state = state;
    this.#wss = new WebSocketServer({ noServer: true, autoPong: state.options.autoPong });
  }

  /** The next `count` WebSocket upgrades are refused with `status` even if the ticket is valid. */
  failNextUpgrades(count: number, status = 502, body?: unknown): void {
    this.#upgradeFailure = {
      remaining: count,
      status,
      body: body ?? { code: 'badGateway', message: 'injected' },
    };
  }

  /** The `upgrade` listener of the server: checks path and ticket, then accepts or refuses. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#rawSockets.add(socket);
    socket.once('close', () => this.#rawSockets.delete(socket));
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', this.#state.baseUrl);
    const ticket = url.searchParams.get('ticket');
    if (url.pathname !== '/connect') {
      this.#rejectUpgrade(socket, 404, { code: 'notFound', message: 'not found' }, ticket, 'not-found');
      return;
    }
    const injected = this.#upgradeFailure;
    if (injected !== undefined && injected.remaining > 0) {
      injected.remaining -= 1;
      this.#rejectUpgrade(socket, injected.status, injected.body, ticket, 'injected');
      return;
    }
    const record = ticket === null ? undefined : this.#state.tickets.get(ticket);
    let reason: RejectedUpgrade['reason'] | undefined;
    if (ticket === null || ticket === '') reason = 'missing';
    else if (record === undefined) reason = 'unknown';
    else if (record.isUsed) reason = 'used';
    else if (Date.now() > record.expiresAtMs) reason = 'expired';
    if (reason !== undefined || record === undefined) {
      const body = {
        requestid: newRequestId(),
        code: 'invalidTicket',
        message: `ticket ${reason ?? 'unknown'}`,
      };
      this.#rejectUpgrade(socket, 401, body, ticket, reason ?? 'unknown');
      return;
    }
    // Single use: a second upgrade with the same ticket is refused even while the first is in flight.
    record.isUsed = true;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#accept(ws, record);
    });
  }

  #rejectUpgrade(
    socket: Duplex,
    status: number,
    body: unknown,
    ticket: string | null,
    reason: RejectedUpgrade['reason'],
  ): void {
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json;charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
      () => socket.destroy(),
    );
    this.rejectedUpgrades.push({ ticket, reason, status, atMs: Date.now() });
    this.#state.notify();
  }

  /** Writes a frame and records it; `messageId` marks it as known for later ACKs. */
  send(
    connection: ConnectionRecord,
    payload: string | Buffer,
    isBinary: boolean,
    messageId?: string,
  ): RecordedSentFrame {
    connection.socket.send(payload, { binary: isBinary });
    if (messageId !== undefined) this.#sentMessageIds.add(messageId);
    const sent: RecordedSentFrame = {
      connectionId: connection.id,
      text: typeof payload === 'string' ? payload : payload.toString('utf8'),
      isBinary,
      messageId,
      atMs: Date.now(),
    };
    this.sentFrames.push(sent);
    return sent;
  }

  /** The record behind a connection; throws when it belongs to another fake. */
  record(connection: FakeConnection): ConnectionRecord {
    const record = this.connections.find((candidate) => candidate === connection);
    if (record === undefined)
      throw new Error(`FakeDingTalk: connection ${connection.id} does not belong to this fake`);
    return record;
  }

  /** Closes a connection with a close frame (`'close'`, code 1000 by default) or drops TCP (`'terminate'`). */
  dropConnection(connection: FakeConnection, mode: 'close' | 'terminate', code = 1000, reason = ''): void {
    const record = this.record(connection);
    record.serverAction ??= mode;
    if (mode === 'close') record.socket.close(code, reason);
    else record.socket.terminate();
  }

  /** Terminates every socket, then closes the WebSocket server. */
  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.terminate();
    for (const socket of this.#rawSockets) socket.destroy();
    await new Promise<void>((resolve) => {
      this.#wss.close(() => {
        resolve();
      });
    });
  }

  #accept(socket: WebSocket, ticket: TicketRecord): void {
    const connection = new ConnectionRecord(ticket, socket, this.#state);
    this.connections.push(connection);
    socket.on('message', (data, isBinary) => {
      this.#onUpstream(connection, data, isBinary);
    });
    const onControl = (kind: 'ping' | 'pong') => (payload: Buffer) => {
      if (kind === 'ping') connection.controlPingsReceived += 1;
      this.controlFrames.push({
        connectionId: connection.id,
        kind,
        payload: payload.toString('utf8'),
        atMs: Date.now(),
      });
      this.#state.notify();
    };
    socket.on('ping', onControl('ping'));
    socket.on('pong', onControl('pong'));
    socket.on('close', (code, reason) => {
      connection.closedAtMs = Date.now();
      connection.closeCode = code;
      connection.closeReason = reason.toString('utf8');
      this.#state.notify();
    });
    // A client vanishing mid-frame must not crash the test process.
    socket.on('error', () => undefined);
    this.#state.notify();
  }

  #onUpstream(connection: ConnectionRecord, raw: RawData, isBinary: boolean): void {
    const text = rawDataToBuffer(raw).toString('utf8');
    const parsed = tryParseJson(text);
    const atMs = Date.now();
    this.upstreamFrames.push({
      connectionId: connection.id,
      text,
      isBinary,
      isParsable: parsed.ok,
      parsed: parsed.ok ? parsed.value : undefined,
      atMs,
    });
    if (parsed.ok && isRecord(parsed.value)) {
      const frame = parsed.value;
      const headers = frame['headers'];
      if (isRecord(headers) && typeof headers['messageId'] === 'string') {
        const messageId = headers['messageId'];
        const data = frame['data'];
        const dataParsed = typeof data === 'string' ? tryParseJson(data) : { ok: false as const };
        this.ackedMessageIds.add(messageId);
        this.acks.push({
          messageId,
          code: frame['code'],
          message: frame['message'],
          data,
          dataJson: dataParsed.ok ? dataParsed.value : undefined,
          headers,
          connectionId: connection.id,
          isKnownMessage: this.#sentMessageIds.has(messageId),
          atMs,
        });
      }
    }
    this.#state.notify();
  }
}

function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
