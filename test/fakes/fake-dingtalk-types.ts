/**
 * Options and recorded shapes of the fake DingTalk server (`fake-dingtalk.ts`): what a test configures,
 * scripts, and reads back. No behaviour lives here except applying option defaults.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { WebSocket } from 'ws';

import { DEFAULT_SESSION_WEBHOOK_TTL_MS } from './bot-message-factory.js';

/** Options of `FakeDingTalk.start`. Every duration carries its unit. */
export interface FakeDingTalkOptions {
  /** @defaultValue `'ding-test-client'` */
  clientId?: string | undefined;
  /** @defaultValue `'test-secret-value-123'` */
  clientSecret?: string | undefined;
  /** Unified app id sent as `headers.appId`. @defaultValue a fixed UUID */
  appId?: string | undefined;
  /** How long a ticket from connections/open stays usable. @defaultValue 90_000 */
  ticketTtlMs?: number | undefined;
  /** `sessionWebhookExpiredTime = createAt + sessionWebhookTtlMs`. @defaultValue 5_400_000 (90 min) */
  sessionWebhookTtlMs?: number | undefined;
  /** `false` leaves client WebSocket control pings unanswered (a half-open socket). @defaultValue true */
  autoPong?: boolean | undefined;
  /** After a SYSTEM disconnect, the socket is terminated this long later if still open. @defaultValue 10_000 */
  disconnectDropAfterMs?: number | undefined;
  /** `expireIn` of new access tokens. @defaultValue 7200 */
  accessTokenTtlSeconds?: number | undefined;
  /** Re-push an unacked CALLBACK/EVENT with a new messageId and the same data after this. Off when unset. */
  redeliverAfterMs?: number | undefined;
  /** Redeliveries per push when `redeliverAfterMs` is set. @defaultValue 1 */
  maxRedeliveries?: number | undefined;
  /** Send a SYSTEM ping to every live connection at this interval. Off when unset. */
  pingIntervalMs?: number | undefined;
  /** Session-webhook bodies above this size get errcode 460101. @defaultValue 20_000 */
  webhookMaxBodyBytes?: number | undefined;
  /** Per-session posts allowed in a sliding minute before errcode 130101. Off when unset. */
  webhookMaxPostsPerMinute?: number | undefined;
  /** HTTP status of `InvalidAuthentication` answers (sources disagree, §4). @defaultValue 400 */
  invalidTokenStatus?: 400 | 401 | undefined;
  /** Source of randomness for picking the connection that receives a push. @defaultValue `Math.random` */
  random?: (() => number) | undefined;
  /** Lifetime of the signed URLs from messageFiles/download (real value unknown). @defaultValue 3_600_000 */
  downloadUrlTtlMs?: number | undefined;
  /** Card calls (create, instances PUT, streaming PUT) per sliding second before 403 QpsLimit. Off when unset. */
  cardQpsLimit?: number | undefined;
  /** Idle keep-alive timeout of the HTTP server (`server.keepAliveTimeout`). @defaultValue Node's, 5_000 */
  keepAliveTimeoutMs?: number | undefined;
}

/** Defaults of {@link FakeDingTalkOptions}. */
export const DEFAULT_FAKE_DINGTALK_OPTIONS = {
  clientId: 'ding-test-client',
  clientSecret: 'test-secret-value-123',
  appId: '1305d5f5-0000-484f-0000-97d9aaaaef67',
  ticketTtlMs: 90_000,
  sessionWebhookTtlMs: DEFAULT_SESSION_WEBHOOK_TTL_MS,
  autoPong: true,
  disconnectDropAfterMs: 10_000,
  accessTokenTtlSeconds: 7200,
  maxRedeliveries: 1,
  webhookMaxBodyBytes: 20_000,
  invalidTokenStatus: 400,
  downloadUrlTtlMs: 3_600_000,
} as const satisfies FakeDingTalkOptions;

/** Default timeout of every `waitFor…` helper. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;

/** One `{type, topic}` entry of the connections/open `subscriptions` array. */
export interface StreamSubscription {
  readonly type: string;
  readonly topic: string;
}

/** A server → client Stream frame. `data` is a JSON-encoded string, as on the wire. */
export interface DownstreamFrame {
  specVersion: string;
  type: 'SYSTEM' | 'EVENT' | 'CALLBACK';
  headers: Record<string, string>;
  data: string;
}

/**
 * A canned HTTP answer for fault injection; `destroySocket` drops the connection without a response.
 * `body` is sent as JSON unless `rawBody` is set, which is sent as it is (`application/octet-stream` unless
 * `headers` say otherwise). `chunkBytes` writes the body in pieces (chunked encoding unless `headers` carry
 * a content-length), `chunkDelayMs` pauses between them, and `destroyAfterBytes` resets the connection
 * after that many body bytes.
 */
export type ScriptedResponse =
  | {
      status: number;
      body?: unknown;
      headers?: Record<string, string>;
      delayMs?: number;
      rawBody?: string | Buffer;
      chunkBytes?: number;
      chunkDelayMs?: number;
      destroyAfterBytes?: number;
    }
  | { destroySocket: true };

/** What a script handler sees of an HTTP request. `body` is parsed JSON, or `undefined`. */
export interface ApiRequestView {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
  readonly body: unknown;
}

/** Fault-injection hook; returning `undefined` falls through to the default behaviour. */
export type ApiScriptHandler = (
  request: ApiRequestView,
) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

/** What a webhook script handler sees. `conversationId` is known for sessions the fake handed out. */
export interface WebhookRequestView extends ApiRequestView {
  readonly sessionId: string | null;
  readonly conversationId: string | undefined;
}

/** Fault-injection hook for session webhooks; `undefined` = default behaviour. */
export type WebhookScriptHandler = (
  post: WebhookRequestView,
) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

/**
 * Status and body the fake answered with (`status` 0 when the socket was destroyed). `body` is the JSON
 * value, or a string `rawBody` (`undefined` for binary ones); `bytesSent` counts the body bytes written
 * before the answer ended or the client went away.
 */
export interface RecordedResponse {
  readonly status: number;
  readonly body: unknown;
  readonly bytesSent?: number | undefined;
}

/** Every HTTP request the fake served, in arrival order of completion. */
export interface RecordedApiRequest extends ApiRequestView {
  readonly atMs: number;
  readonly response: RecordedResponse;
}

/** One `POST /v1.0/gateway/connections/open`. */
export interface RecordedOpenRequest {
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly status: number;
  readonly responseBody: unknown;
  readonly atMs: number;
  /** The ticket handed out, when the call succeeded. */
  readonly ticket: string | undefined;
}

/** One WebSocket upgrade the fake refused before switching protocols. */
export interface RejectedUpgrade {
  readonly ticket: string | null;
  readonly reason: 'not-found' | 'missing' | 'unknown' | 'used' | 'expired' | 'injected';
  readonly status: number;
  readonly atMs: number;
}

/** One POST to a session webhook. */
export interface RecordedWebhookPost {
  readonly sessionId: string | null;
  readonly conversationId: string | undefined;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly atMs: number;
  readonly response: RecordedResponse;
}

/** A message accepted by `oToMessages/batchSend` or `groupMessages/send`; `msgParam` is decoded. */
export interface RecordedRobotMessage {
  readonly kind: 'oto' | 'group';
  readonly body: Readonly<Record<string, unknown>>;
  readonly msgKey: string;
  readonly msgParam: unknown;
  readonly processQueryKey: string;
  readonly atMs: number;
}

/** A frame the fake pushed through `FakeDingTalk.pushCallback` and friends. */
export interface PushedFrame {
  readonly messageId: string;
  readonly frame: DownstreamFrame;
  readonly connectionId: string;
  readonly atMs: number;
  /** messageId of the first delivery when this push is a redelivery. */
  readonly redeliveryOf: string | undefined;
}

/** Any text or binary frame the fake wrote to a socket. */
export interface RecordedSentFrame {
  readonly connectionId: string;
  readonly text: string;
  readonly isBinary: boolean;
  readonly messageId: string | undefined;
  readonly atMs: number;
}

/** Any client → server data frame, parsable or not. */
export interface RecordedUpstreamFrame {
  readonly connectionId: string;
  readonly text: string;
  readonly isBinary: boolean;
  readonly isParsable: boolean;
  /** Parsed JSON; `undefined` when unparsable. */
  readonly parsed: unknown;
  readonly atMs: number;
}

/** A client → server frame carrying `headers.messageId`. Other members are kept as sent. */
export interface RecordedAck {
  readonly messageId: string;
  readonly code: unknown;
  readonly message: unknown;
  readonly data: unknown;
  /** `data` decoded once more when it is a JSON string, else `undefined`. */
  readonly dataJson: unknown;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly connectionId: string;
  /** Whether the fake ever sent a frame with this messageId. */
  readonly isKnownMessage: boolean;
  readonly atMs: number;
}

/** A WebSocket control frame received from a client. */
export interface RecordedControlFrame {
  readonly connectionId: string;
  readonly kind: 'ping' | 'pong';
  readonly payload: string;
  readonly atMs: number;
}

/** One accepted Stream WebSocket, as seen by the server. */
export interface FakeConnection {
  /** Server-side id, sent as `headers.connectionId`. */
  readonly id: string;
  readonly ticket: string;
  readonly subscriptions: readonly StreamSubscription[];
  readonly openRequestBody: unknown;
  readonly acceptedAtMs: number;
  /** Server end of the socket, for exotic scenarios (pause, raw close codes). */
  readonly socket: WebSocket;
  readonly isOpen: boolean;
  /** A SYSTEM disconnect was sent: no further pushes are routed here. */
  readonly isDraining: boolean;
  readonly closedAtMs: number | undefined;
  readonly closeCode: number | undefined;
  readonly closeReason: string | undefined;
  /** Set when the fake itself closed or terminated the socket. */
  readonly serverAction: 'close' | 'terminate' | undefined;
  readonly controlPingsReceived: number;
  /** Resolves once the socket is closed; rejects after `timeoutMs` (default 5 s). */
  waitForClose(timeoutMs?: number): Promise<void>;
}

/** Where to send a frame; a random eligible live connection when `connection` is omitted. */
export interface PushTarget {
  connection?: FakeConnection | undefined;
}

/** Options of `FakeDingTalk.pushCallback` and `FakeDingTalk.pushBotMessage`. */
export interface PushOptions extends PushTarget {
  messageId?: string | undefined;
  /** Overrides the fake-wide `redeliverAfterMs` for this push. */
  redeliverAfterMs?: number | undefined;
  /** Extra or replaced frame headers. */
  headers?: Record<string, string> | undefined;
}

/** {@link FakeDingTalkOptions} after defaults were applied. */
export interface ResolvedFakeDingTalkOptions {
  clientId: string;
  clientSecret: string;
  appId: string;
  ticketTtlMs: number;
  sessionWebhookTtlMs: number;
  autoPong: boolean;
  disconnectDropAfterMs: number;
  accessTokenTtlSeconds: number;
  redeliverAfterMs: number | undefined;
  maxRedeliveries: number;
  pingIntervalMs: number | undefined;
  webhookMaxBodyBytes: number;
  webhookMaxPostsPerMinute: number | undefined;
  invalidTokenStatus: 400 | 401;
  random: () => number;
  downloadUrlTtlMs: number;
  cardQpsLimit: number | undefined;
}

/** Applies {@link DEFAULT_FAKE_DINGTALK_OPTIONS}; `random` defaults to `Math.random`. */
export function resolveFakeDingTalkOptions(options: FakeDingTalkOptions): ResolvedFakeDingTalkOptions {
  const d = DEFAULT_FAKE_DINGTALK_OPTIONS;
  return {
    clientId: options.clientId ?? d.clientId,
    clientSecret: options.clientSecret ?? d.clientSecret,
    appId: options.appId ?? d.appId,
    ticketTtlMs: options.ticketTtlMs ?? d.ticketTtlMs,
    sessionWebhookTtlMs: options.sessionWebhookTtlMs ?? d.sessionWebhookTtlMs,
    autoPong: options.autoPong ?? d.autoPong,
    disconnectDropAfterMs: options.disconnectDropAfterMs ?? d.disconnectDropAfterMs,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? d.accessTokenTtlSeconds,
    redeliverAfterMs: options.redeliverAfterMs,
    maxRedeliveries: options.maxRedeliveries ?? d.maxRedeliveries,
    pingIntervalMs: options.pingIntervalMs,
    webhookMaxBodyBytes: options.webhookMaxBodyBytes ?? d.webhookMaxBodyBytes,
    webhookMaxPostsPerMinute: options.webhookMaxPostsPerMinute,
    invalidTokenStatus: options.invalidTokenStatus ?? d.invalidTokenStatus,
    random: options.random ?? Math.random,
    downloadUrlTtlMs: options.downloadUrlTtlMs ?? d.downloadUrlTtlMs,
    cardQpsLimit: options.cardQpsLimit,
  };
}
