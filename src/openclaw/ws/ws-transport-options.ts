/**
 * The options of {@link WsAgentTransport} and their defaults (re-exported from `ws-transport.ts`).
 */
import type { Logger } from 'pino';

import type { BackoffPolicy } from '../../dingtalk/stream/backoff.js';
import type { RunProtocolWarning } from './run-events.js';

/** Deadline of one request (`chat.send`, `chat.history`, …) when not configured. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Options of {@link WsAgentTransport}. */
export interface WsAgentTransportOptions {
  /** `ws://` or `wss://` URL of the gateway (see `deriveWsUrl` in ws-url.ts). */
  readonly url: string;
  /** The gateway's HTTP origin, for artifact downloads (`openclaw.baseUrl`). */
  readonly httpBaseUrl: string;
  /** Shared gateway token (`openclaw.token`). */
  readonly token: string | undefined;
  /** Deadline of one whole turn, from `chat.send` to the last artifact. */
  readonly timeoutMs: number;
  /** Deadline from opening the socket to `hello-ok`. */
  readonly connectTimeoutMs: number;
  /** Deadline of one request's answer. @defaultValue {@link DEFAULT_REQUEST_TIMEOUT_MS} */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * File of the Ed25519 device identity (and the device token pairing issues). When set, every
   * connect carries a signed device proof; needed off loopback (see `isLoopbackUrl` in ws-url.ts).
   */
  readonly deviceIdentityFile?: string | undefined;
  /** Ask for `operator.admin`, which `sessions.reset` needs. @defaultValue true */
  readonly requestAdminScope?: boolean | undefined;
  /** Largest artifact downloaded, in bytes. */
  readonly maxArtifactBytes: number;
  /** Our version, sent as `client.version`. */
  readonly clientVersion: string;
  /** Extra headers of the WebSocket upgrade request. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly reconnectPolicy?: BackoffPolicy | undefined;
  readonly logger?: Logger | undefined;
  readonly random?: (() => number) | undefined;
  /** Called for every event that could not be used (also counted in {@link WsAgentTransport.protocolWarningCount}). */
  readonly onProtocolWarning?: ((warning: RunProtocolWarning) => void) | undefined;
}
