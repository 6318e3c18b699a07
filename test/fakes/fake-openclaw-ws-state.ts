/**
 * What the parts of the fake OpenClaw WebSocket gateway share: the connections, runs, transcripts,
 * artifacts and records, and the frame writers (`res`, `event`, broadcasts) every part answers with.
 */
import WebSocket from 'ws';

import type {
  FakeArtifact,
  FakeOpenClawWsOptions,
  FakeRequest,
  FakeRun,
  FakeSend,
  FakeSendHandler,
  FakeWsConnection,
  Json,
} from './fake-openclaw-ws-types.js';

/** The shared state of one fake gateway. @internal */
export class FakeOpenClawWsState {
  readonly options: FakeOpenClawWsOptions;
  readonly requests: FakeRequest[] = [];
  readonly sends: FakeSend[] = [];
  /** Device ids whose pairing was approved. */
  readonly pairedDevices = new Set<string>();
  /** Pending pairing requests: requestId → deviceId. */
  readonly pairingRequests = new Map<string, string>();
  readonly connections = new Map<string, FakeWsConnection>();
  readonly runs = new Map<string, FakeRun>();
  readonly transcripts = new Map<string, Json[]>();
  readonly artifacts = new Map<string, FakeArtifact>();
  /** Download tickets: ticket → artifact id. */
  readonly tickets = new Map<string, string>();
  /** Device tokens issued: device id → token. */
  readonly deviceTokens = new Map<string, string>();
  /** Connects still to refuse with "gateway starting". */
  refusalsLeft: number;
  /** `chat.send` answers still to drop (the socket is terminated instead). */
  dropSendAnswers = 0;
  handler: FakeSendHandler = () => ({});

  constructor(options: FakeOpenClawWsOptions) {
    this.options = options;
    this.refusalsLeft = options.refuseStartingConnects ?? 0;
  }

  appendTranscript(sessionKey: string, message: Json): void {
    const messages = this.transcripts.get(sessionKey) ?? [];
    messages.push(message);
    this.transcripts.set(sessionKey, messages);
  }

  /** Sends an event to every authenticated connection. */
  broadcast(event: string, payload: Json): void {
    for (const connection of this.connections.values()) {
      if (connection.isAuthenticated) this.event(connection, event, payload);
    }
  }

  /** Sends an event with the connection's next `seq`. */
  event(connection: FakeWsConnection, event: string, payload: Json): void {
    connection.seq += 1;
    this.send(connection, { type: 'event', event, payload, seq: connection.seq });
  }

  /** Answers request `id` with `ok: false`. */
  fail(connection: FakeWsConnection, id: string, code: string, message: string, details?: Json): void {
    const error: Json = { code, message };
    if (details !== undefined) error['details'] = details;
    this.send(connection, { type: 'res', id, ok: false, error });
  }

  /** Writes a frame if the socket is still open. */
  send(connection: FakeWsConnection, frame: Json): void {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(JSON.stringify(frame));
  }
}
