/**
 * Stable, greppable error codes. Never rename a published code: operators alert on them.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'GW_CONFIG_INVALID',
  DINGTALK_API: 'GW_DINGTALK_API',
  DINGTALK_TRANSPORT: 'GW_DINGTALK_TRANSPORT',
  DINGTALK_AUTH_FATAL: 'GW_DINGTALK_AUTH_FATAL',
  DINGTALK_URL_REFUSED: 'GW_DINGTALK_URL_REFUSED',
  STREAM_PROTOCOL: 'GW_STREAM_PROTOCOL',
  OPENCLAW_HTTP: 'GW_OPENCLAW_HTTP',
  OPENCLAW_UNAVAILABLE: 'GW_OPENCLAW_UNAVAILABLE',
  OPENCLAW_STREAM: 'GW_OPENCLAW_STREAM',
  OPENCLAW_TIMEOUT: 'GW_OPENCLAW_TIMEOUT',
  DELIVERY_FAILED: 'GW_DELIVERY_FAILED',
  STATE_STORE: 'GW_STATE_STORE',
  STATE_LOCKED: 'GW_STATE_LOCKED',
  MEDIA_FETCH: 'GW_MEDIA_FETCH',
  MEDIA_REFUSED: 'GW_MEDIA_REFUSED',
  OPENCLAW_RPC: 'GW_OPENCLAW_RPC',
  OPENCLAW_AUTH: 'GW_OPENCLAW_AUTH',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Longest body excerpt an error may carry (as a field, never in `message`). */
export const MAX_BODY_SNIPPET_CHARS = 200;

/** Cuts an untrusted response body down to a loggable excerpt. */
export function bodySnippet(body: string): string {
  return body.length > MAX_BODY_SNIPPET_CHARS ? `${body.slice(0, MAX_BODY_SNIPPET_CHARS)}…` : body;
}

/**
 * Base of every error that crosses a module boundary. `retryable` says whether repeating the same
 * operation later can succeed. Messages never contain secrets, tokens, tickets or full bodies.
 */
export abstract class GatewayError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly retryable: boolean;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for a {@link GatewayError} that says repeating the operation later can succeed. */
export function isRetryableError(error: unknown): boolean {
  return error instanceof GatewayError && error.retryable;
}

/** One problem in the configuration, located by its dotted key path. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** The configuration could not be loaded or validated. Lists every issue, never a secret value. */
export class ConfigError extends GatewayError {
  readonly code = ERROR_CODES.CONFIG_INVALID;
  readonly retryable = false;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** DingTalk answered, and the answer was no (HTTP error status, or a non-zero errcode in a 200). */
export class DingTalkApiError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_API;
  readonly retryable: boolean;
  readonly status: number;
  /** DingTalk's own error code: `code` on new-style APIs, `errcode` on oapi and webhooks. */
  readonly apiCode: string | undefined;
  readonly requestId: string | undefined;
  readonly bodySnippet: string;
  readonly endpoint: string;

  constructor(options: {
    endpoint: string;
    status: number;
    apiCode?: string | undefined;
    apiMessage?: string | undefined;
    requestId?: string | undefined;
    body: string;
    retryable: boolean;
  }) {
    const detail = options.apiCode === undefined ? '' : ` code=${options.apiCode}`;
    const text = options.apiMessage === undefined ? '' : ` (${bodySnippet(options.apiMessage)})`;
    super(`DingTalk ${options.endpoint} failed: HTTP ${options.status}${detail}${text}`);
    this.endpoint = options.endpoint;
    this.status = options.status;
    this.apiCode = options.apiCode;
    this.requestId = options.requestId;
    this.bodySnippet = bodySnippet(options.body);
    this.retryable = options.retryable;
  }
}

/** DingTalk could not be reached (DNS, connect, TLS, reset, timeout). Always retryable. */
export class DingTalkTransportError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_TRANSPORT;
  readonly retryable = true;
  readonly endpoint: string;

  constructor(endpoint: string, cause: unknown) {
    super(`DingTalk ${endpoint} unreachable: ${describeCause(cause)}`, { cause });
    this.endpoint = endpoint;
  }
}

/** The stream credentials were refused (401/403 on connections/open). Fatal for that account. */
export class DingTalkAuthError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_AUTH_FATAL;
  readonly retryable = false;
  readonly status: number;
  readonly apiCode: string | undefined;

  constructor(status: number, apiCode: string | undefined) {
    super(
      `DingTalk refused the app credentials (HTTP ${status}${apiCode === undefined ? '' : `, ${apiCode}`}): ` +
        'check clientId/clientSecret, that the app is published and that its bot uses Stream mode',
    );
    this.status = status;
    this.apiCode = apiCode;
  }
}

/** A URL handed to us by DingTalk (or an agent) points outside the allowed origins. */
export class UrlRefusedError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_URL_REFUSED;
  readonly retryable = false;

  constructor(what: string, origin: string) {
    super(`${what} refused: origin ${origin} is not an allowed DingTalk origin`);
  }
}

/** A Stream frame could not be understood. The frame is acked (when it has an id) and dropped. */
export class StreamProtocolError extends GatewayError {
  readonly code = ERROR_CODES.STREAM_PROTOCOL;
  readonly retryable = false;
}

/** OpenClaw answered with a non-2xx status. */
export class OpenClawHttpError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_HTTP;
  readonly retryable: boolean;
  readonly status: number;
  readonly bodySnippet: string;
  readonly retryAfterMs: number | undefined;

  constructor(options: {
    status: number;
    body: string;
    apiMessage?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    const hint = options.status === 401 || options.status === 403 ? ': check openclaw.token' : '';
    const text = options.apiMessage === undefined ? '' : ` (${bodySnippet(options.apiMessage)})`;
    super(`OpenClaw answered HTTP ${options.status}${text}${hint}`);
    this.status = options.status;
    this.bodySnippet = bodySnippet(options.body);
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.status === 429 || options.status >= 500;
  }
}

/** OpenClaw could not be reached, or the connection broke before an answer started. */
export class OpenClawUnavailableError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_UNAVAILABLE;
  readonly retryable = true;

  constructor(cause: unknown) {
    super(`OpenClaw unreachable: ${describeCause(cause)}`, { cause });
  }
}

/** The SSE stream reported an error event or ended in a way that is not a complete answer. */
export class OpenClawStreamError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_STREAM;
  readonly retryable = false;
}

/** The turn took longer than `openclaw.timeoutMs`. */
export class OpenClawTimeoutError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_TIMEOUT;
  readonly retryable = true;
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`OpenClaw did not finish the turn within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A reply could not reach the conversation by any route; `cause` holds the last failure. */
export class UndeliverableError extends GatewayError {
  readonly code = ERROR_CODES.DELIVERY_FAILED;
  readonly retryable = false;
}

/**
 * The SQLite state file is held by another process (another gateway on the same `state.dir`). It
 * may succeed later, once that process has stopped.
 */
export class StateLockedError extends GatewayError {
  readonly code = ERROR_CODES.STATE_LOCKED;
  readonly retryable = true;
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super(
      `the state database ${path} is in use by another process: one gateway per state.dir ` +
        '(several replicas need state.redisUrl)',
      options,
    );
    this.path = path;
  }
}

/**
 * A short description of an unknown thrown value: its code (undici `UND_ERR_*`, `ECONNREFUSED`) and
 * message, without stack or nested bodies.
 */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const inner = cause.cause instanceof Error ? `: ${describeCause(cause.cause)}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${cause.message}${inner}`;
  }
  return String(cause);
}

/**
 * OpenClaw's WebSocket gateway answered a request with `ok: false` (`INVALID_REQUEST`, `FORBIDDEN`,
 * `UNAVAILABLE`, …). `rpcCode` is the error's `code`, `detailCode` its `details.code` when given.
 */
export class OpenClawRpcError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_RPC;
  readonly retryable: boolean;
  readonly method: string;
  readonly rpcCode: string;
  readonly detailCode: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(options: {
    method: string;
    rpcCode: string;
    message: string;
    detailCode?: string | undefined;
    retryable?: boolean | undefined;
    retryAfterMs?: number | undefined;
  }) {
    const detail = options.detailCode === undefined ? '' : ` ${options.detailCode}`;
    super(`OpenClaw ${options.method} failed: ${options.rpcCode}${detail} (${bodySnippet(options.message)})`);
    this.method = options.method;
    this.rpcCode = options.rpcCode;
    this.detailCode = options.detailCode;
    this.retryable = options.retryable === true;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * OpenClaw's WebSocket gateway refused our credentials or identity at connect (wrong token, device
 * not paired yet, protocol mismatch, missing scopes). Not retryable until someone acts: `hint` says
 * who and how (e.g. the `openclaw devices approve <requestId>` command).
 */
export class OpenClawAuthError extends GatewayError {
  readonly code = ERROR_CODES.OPENCLAW_AUTH;
  readonly retryable = false;
  /** OpenClaw's `details.code`, e.g. `AUTH_TOKEN_MISMATCH`, `PAIRING_REQUIRED`; or ours, `MISSING_SCOPES`. */
  readonly reason: string;
  /** The pending pairing request to approve, for `PAIRING_REQUIRED`. */
  readonly pairingRequestId: string | undefined;

  constructor(reason: string, hint: string, pairingRequestId?: string) {
    super(`OpenClaw refused the connection (${reason}): ${hint}`);
    this.reason = reason;
    this.pairingRequestId = pairingRequestId;
  }
}
