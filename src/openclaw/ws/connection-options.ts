/**
 * The public shapes of {@link OpenClawWsConnection}: its options, states, listener callbacks, request
 * options and the default reconnect policy (re-exported from `connection.ts`).
 */
import type { Logger } from 'pino';

import type { BackoffPolicy } from '../../dingtalk/stream/backoff.js';
import type { OpenClawAuthError } from '../../errors.js';
import type { DeviceIdentity } from './device-identity.js';
import type { EventFrame } from './frames.js';
import type { ClientDescription } from './handshake.js';

/** Reconnect delays: 0.5 s doubling to 30 s, up to 20 % shorter at random. */
export const WS_RECONNECT_POLICY = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  jitterRatio: 0.2,
} as const satisfies BackoffPolicy;

/** `idle` (never asked to connect), `connecting`, `open`, `waiting` (backoff before a reconnect), `closed`. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** Callbacks of {@link OpenClawWsConnection.subscribe}; exceptions they throw are logged and dropped. */
export interface ConnectionListener {
  /** Every event frame (`chat`, `agent`, `tick`, …) of the open connection. */
  readonly onEvent?: (event: EventFrame) => void;
  /** A connection opened; `generation` counts successful opens (1 = the first). */
  readonly onOpen?: (generation: number) => void;
  /** The open connection was lost; a reconnect follows unless the connection is closing. */
  readonly onLost?: (error: Error) => void;
  /** Reconnecting stopped because OpenClaw refused the credentials (the next `ready()` tries again). */
  readonly onGaveUp?: (error: OpenClawAuthError) => void;
}

/** Options of {@link OpenClawWsConnection}. */
export interface OpenClawWsConnectionOptions {
  /** `ws://` or `wss://` URL of the gateway, e.g. `ws://127.0.0.1:18789`. */
  readonly url: string;
  /** Shared gateway token; `undefined` for gateways without token auth or with a device token only. */
  readonly token: string | undefined;
  readonly scopes: readonly string[];
  readonly caps: readonly string[];
  readonly client: ClientDescription;
  /** Sends a signed device proof and keeps the device token it is issued (off loopback). */
  readonly device?: DeviceIdentity | undefined;
  /** Extra HTTP headers of the upgrade request (e.g. for an authenticating reverse proxy). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Deadline from opening the socket to `hello-ok`. */
  readonly connectTimeoutMs: number;
  /** Deadline of one request's answer. */
  readonly requestTimeoutMs: number;
  /** @defaultValue {@link WS_RECONNECT_POLICY} */
  readonly reconnectPolicy?: BackoffPolicy | undefined;
  readonly logger?: Logger | undefined;
  /** For the backoff jitter. @defaultValue Math.random */
  readonly random?: (() => number) | undefined;
}

/** Options of one {@link OpenClawWsConnection.request}. */
export interface RequestOptions {
  /** @defaultValue `requestTimeoutMs` of the connection */
  readonly timeoutMs?: number | undefined;
  /** Aborting rejects the request with the signal's reason (the gateway may still act on it). */
  readonly signal?: AbortSignal | undefined;
}
