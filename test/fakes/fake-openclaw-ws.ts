/**
 * A scriptable stand-in for OpenClaw's WebSocket gateway protocol v4 on 127.0.0.1 (port 0), shaped
 * after the frames captured from the real gateway (test/fixtures/openclaw-ws, see its README):
 * `connect.challenge` → `connect` → `hello-ok`, token and Ed25519 device-proof checks, pairing,
 * `chat.send` runs streamed as `chat`/`agent` events to every connection (the `tool` stream only to
 * the sender with the `tool-events` cap), idempotency keys, `chat.abort`, `chat.history` with
 * `inFlightRun`, `agent.wait`, `sessions.reset`, `artifacts.list`/`artifacts.download` and the ticket
 * GET on the same port, ticks. Runs live in the fake, not in a connection: dropping sockets does not
 * stop them (as in OpenClaw).
 *
 * This class is the public surface and lifecycle; the handshake is in `fake-openclaw-ws-handshake.ts`,
 * the run methods in `fake-openclaw-ws-runs.ts` (a run's events in `fake-openclaw-ws-play.ts`),
 * artifacts in `fake-openclaw-ws-artifacts.ts`, shared state and frame writers in
 * `fake-openclaw-ws-state.ts`, types in `fake-openclaw-ws-types.ts`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { WebSocketServer, type WebSocket } from 'ws';

import { artifactsDownload, artifactsList, serveArtifact } from './fake-openclaw-ws-artifacts.js';
import { answerConnect } from './fake-openclaw-ws-handshake.js';
import { agentWait, chatAbort, chatHistory, chatSend, sessionsReset } from './fake-openclaw-ws-runs.js';
import { FakeOpenClawWsState } from './fake-openclaw-ws-state.js';
import {
  DEFAULT_TICK_INTERVAL_MS,
  canonicalKey,
  isJson,
  type FakeOpenClawWsOptions,
  type FakeRequest,
  type FakeRun,
  type FakeSend,
  type FakeSendHandler,
  type FakeWsConnection,
  type Json,
} from './fake-openclaw-ws-types.js';

export { FAKE_OPENCLAW_WS_TOKEN } from './fake-openclaw-ws-types.js';
export type {
  FakeOpenClawWsOptions,
  FakeRequest,
  FakeRunScript,
  FakeSend,
  FakeToolStep,
} from './fake-openclaw-ws-types.js';

const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
/** How often {@link FakeOpenClawWs.waitFor} polls. */
const WAIT_POLL_MS = 10;

/** The fake gateway. Close it in `afterEach`. */
export class FakeOpenClawWs {
  /** `http://127.0.0.1:<port>` (artifact downloads). */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<port>`. */
  readonly wsUrl: string;
  readonly requests: FakeRequest[];
  readonly sends: FakeSend[];
  /** Device ids whose pairing was approved. */
  readonly pairedDevices: Set<string>;
  /** Pending pairing requests: requestId → deviceId. */
  readonly pairingRequests: Map<string, string>;
  /** Connections that completed the handshake, ever. */
  authenticatedConnections = 0;
  readonly #state: FakeOpenClawWsState;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  #tickTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, wss: WebSocketServer, options: FakeOpenClawWsOptions) {
    this.#server = server;
    this.#wss = wss;
    this.#state = new FakeOpenClawWsState(options);
    this.requests = this.#state.requests;
    this.sends = this.#state.sends;
    this.pairedDevices = this.#state.pairedDevices;
    this.pairingRequests = this.#state.pairingRequests;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}`;
  }

  static async start(options: FakeOpenClawWsOptions = {}): Promise<FakeOpenClawWs> {
    const server = createServer();
    server.keepAliveTimeout = 1_000;
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeOpenClawWs(server, wss, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      serveArtifact(fake.#state, fake.baseUrl, req, res);
    });
    wss.on('connection', (socket: WebSocket) => {
      fake.#accept(socket);
    });
    const tickMs = options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS;
    fake.#tickTimer = setInterval(() => {
      for (const connection of fake.#state.connections.values()) {
        if (connection.isAuthenticated) fake.#state.event(connection, 'tick', { ts: Date.now() });
      }
    }, tickMs);
    fake.#tickTimer.unref();
    return fake;
  }

  /** Sets how each new run behaves. */
  onSend(handler: FakeSendHandler): void {
    this.#state.handler = handler;
  }

  /** Open, authenticated connections. */
  get openConnections(): number {
    return [...this.#state.connections.values()].filter((connection) => connection.isAuthenticated).length;
  }

  /** Requests of one method. */
  requestsOf(method: string): FakeRequest[] {
    return this.requests.filter((request) => request.method === method);
  }

  /** Terminates every socket (runs go on). */
  dropConnections(): void {
    for (const connection of this.#state.connections.values()) connection.socket.terminate();
  }

  /** Stops sending ticks and answering anything on the open connections (a half-dead socket). */
  freezeConnections(): void {
    for (const connection of this.#state.connections.values()) {
      connection.socket.removeAllListeners('message');
      connection.isAuthenticated = false;
    }
  }

  /** The next `chat.send` starts its run, then the socket drops before the answer (a lost answer). */
  dropNextSendAnswer(): void {
    this.#state.dropSendAnswers += 1;
  }

  /** Approves a pending pairing request (`openclaw devices approve <requestId>`). */
  approvePairing(requestId: string): void {
    const deviceId = this.pairingRequests.get(requestId);
    if (deviceId === undefined) throw new Error(`no pairing request ${requestId}`);
    this.pairingRequests.delete(requestId);
    this.pairedDevices.add(deviceId);
  }

  /** The transcript OpenClaw keeps for a session (canonical key). */
  transcript(sessionKey: string): readonly Json[] {
    return this.#state.transcripts.get(canonicalKey(sessionKey)) ?? [];
  }

  /** The state of a run, or `undefined` when there is none. */
  runState(runId: string): FakeRun['state'] | undefined {
    return this.#state.runs.get(runId)?.state;
  }

  /** Polls `probe` until it returns a value other than `undefined`. */
  async waitFor<T>(
    probe: () => T | undefined,
    timeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
    what: () => string = () => 'condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
      await sleep(WAIT_POLL_MS);
    }
  }

  /** Stops runs, closes every socket and the server. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer);
      for (const run of this.#state.runs.values()) run.stop.abort();
      for (const connection of this.#state.connections.values()) connection.socket.terminate();
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
    })();
    return this.#closed;
  }

  #accept(socket: WebSocket): void {
    const connection: FakeWsConnection = {
      id: randomUUID(),
      socket,
      isAuthenticated: false,
      scopes: [],
      caps: [],
      seq: 0,
      challenge: { nonce: randomUUID(), ts: Date.now() },
    };
    this.#state.connections.set(connection.id, connection);
    socket.on('close', () => {
      this.#state.connections.delete(connection.id);
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      void this.#onMessage(connection, data);
    });
    socket.send(
      JSON.stringify({
        type: 'event',
        event: 'connect.challenge',
        payload: { ...connection.challenge, capabilities: ['model-catalog-snapshot'] },
      }),
    );
  }

  async #onMessage(connection: FakeWsConnection, data: Buffer): Promise<void> {
    let frame: Json;
    try {
      frame = JSON.parse(data.toString('utf8')) as Json;
    } catch {
      connection.socket.close(1008, 'invalid frame');
      return;
    }
    const id = typeof frame['id'] === 'string' ? frame['id'] : '';
    const method = typeof frame['method'] === 'string' ? frame['method'] : '';
    const params = isJson(frame['params']) ? frame['params'] : {};
    this.requests.push({ connectionId: connection.id, method, params, atMs: Date.now() });
    if (!connection.isAuthenticated) {
      if (method !== 'connect') {
        this.#state.fail(
          connection,
          id,
          'INVALID_REQUEST',
          'invalid handshake: first request must be connect',
        );
        connection.socket.close(1008, 'invalid handshake');
        return;
      }
      if (answerConnect(this.#state, connection, id, params)) this.authenticatedConnections += 1;
      return;
    }
    try {
      await this.#dispatch(connection, id, method, params);
    } catch (error) {
      this.#state.fail(connection, id, 'UNAVAILABLE', String(error));
    }
  }

  async #dispatch(connection: FakeWsConnection, id: string, method: string, params: Json): Promise<void> {
    const state = this.#state;
    const needs = (scope: string): boolean => {
      if (connection.scopes.includes(scope)) return true;
      state.fail(connection, id, 'FORBIDDEN', `missing scope: ${scope}`, {
        code: 'MISSING_SCOPE',
        missingScope: scope,
        requiredScopes: [scope],
      });
      return false;
    };
    switch (method) {
      case 'chat.send':
        if (needs('operator.write')) await chatSend(state, connection, id, params);
        return;
      case 'chat.abort':
        if (needs('operator.write')) chatAbort(state, connection, id, params);
        return;
      case 'chat.history':
        if (needs('operator.read')) chatHistory(state, connection, id, params);
        return;
      case 'agent.wait':
        if (needs('operator.write')) await agentWait(state, connection, id, params);
        return;
      case 'sessions.reset':
        if (needs('operator.admin')) sessionsReset(state, connection, id, params);
        return;
      case 'artifacts.list':
        if (needs('operator.read')) artifactsList(state, connection, id, params);
        return;
      case 'artifacts.download':
        if (needs('operator.read')) artifactsDownload(state, connection, id, params);
        return;
      default:
        state.fail(connection, id, 'INVALID_REQUEST', `unknown method: ${method}`);
    }
  }
}
