import { Agent } from 'undici';

import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import { type CollectedAnswer, exchange } from '../../util/http-exchange.js';
import { isStaleConnection } from '../../util/stale-connection.js';

/** Options of the one undici agent used for every DingTalk HTTP call. */
export interface DingTalkHttpOptions {
  /** TCP/TLS connect deadline. @defaultValue 10_000 */
  readonly connectTimeoutMs: number;
  /** Whole-request deadline unless a call passes its own. @defaultValue 15_000 */
  readonly requestTimeoutMs: number;
  /** Told about every call: endpoint name and HTTP status, or `transport` when unreachable. */
  readonly onCall?: (endpoint: string, status: string) => void;
}

export const DEFAULT_DINGTALK_HTTP_OPTIONS = {
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
} as const satisfies DingTalkHttpOptions;

export interface PostJsonOptions {
  /** A short, secret-free name for logs and errors, e.g. `connections/open` or `session-webhook`. */
  readonly endpoint: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** HTTP methods {@link DingTalkHttp.requestJson} sends; DingTalk's card APIs update with PUT. */
export type JsonMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

// oapi/webhook errcodes that mean "slow down" or "try again": 130101/302033 send too fast,
// 90002/90018 rate limits, -1 system busy.
const RETRYABLE_ERRCODES = new Set(['-1', '130101', '302033', '90002', '90018']);
// Longest response body read into memory; DingTalk answers are small JSON documents.
const MAX_RESPONSE_BYTES = 1_048_576;

/** True when a DingTalk answer is worth retrying later (5xx, 429, throttling codes). */
export function isRetryableAnswer(status: number, apiCode: string | undefined): boolean {
  if (status >= 500 || status === 429) return true;
  if (apiCode === undefined) return false;
  return RETRYABLE_ERRCODES.has(apiCode) || /qpslimit|throttl|too\.?fast|toomany/i.test(apiCode);
}

/**
 * DingTalk's HTTP APIs through one owned undici agent. Answers are checked the same way everywhere:
 * non-2xx statuses and non-zero `errcode` inside 200 bodies become {@link DingTalkApiError};
 * unreachable hosts become {@link DingTalkTransportError}. The only retry here is for a pooled
 * connection the server closed as the request left (sent again at once on a new one).
 */
export class DingTalkHttp {
  readonly #agent: Agent;
  readonly #options: DingTalkHttpOptions;

  constructor(options: DingTalkHttpOptions = DEFAULT_DINGTALK_HTTP_OPTIONS) {
    this.#options = options;
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
    });
  }

  /** POSTs JSON and returns the parsed JSON answer (`undefined` for an empty body). */
  postJson(url: string | URL, body: unknown, options: PostJsonOptions): Promise<unknown> {
    return this.requestJson('POST', url, body, options);
  }

  /**
   * Sends `body` as JSON with `method` (no body and no Content-Type when `body` is `undefined`) and
   * returns the parsed JSON answer (`undefined` for an empty body). Answers are checked and metered
   * exactly as for {@link postJson}.
   */
  async requestJson(
    method: JsonMethod,
    url: string | URL,
    body: unknown,
    options: PostJsonOptions,
  ): Promise<unknown> {
    const { statusCode, bytes } = await this.#sendRetryingStale(method, url, body, options);
    this.#options.onCall?.(options.endpoint, String(statusCode));
    return interpretAnswer(options.endpoint, statusCode, bytes.toString('utf8'));
  }

  /** {@link #send}, once more at once when a pooled connection turned out stale; transport failures typed. */
  async #sendRetryingStale(
    method: JsonMethod,
    url: string | URL,
    body: unknown,
    options: PostJsonOptions,
  ): Promise<CollectedAnswer> {
    // One deadline for both tries.
    const deadlineAtMs = Date.now() + (options.timeoutMs ?? this.#options.requestTimeoutMs);
    try {
      return await this.#send(method, url, body, options, deadlineAtMs);
    } catch (error) {
      if (!isStaleConnection(error)) throw this.#transportFailure(options.endpoint, error);
    }
    // A pooled connection the server had just closed: nothing reached it, so once more at once.
    try {
      return await this.#send(method, url, body, options, deadlineAtMs);
    } catch (retryError) {
      throw this.#transportFailure(options.endpoint, retryError);
    }
  }

  #transportFailure(endpoint: string, error: unknown): DingTalkTransportError {
    this.#options.onCall?.(endpoint, 'transport');
    return new DingTalkTransportError(endpoint, error);
  }

  #send(
    method: JsonMethod,
    url: string | URL,
    body: unknown,
    options: PostJsonOptions,
    deadlineAtMs: number,
  ): Promise<CollectedAnswer> {
    const hasBody = body !== undefined;
    // The agent is called with origin and path: a URL the caller already parsed is not parsed again.
    const target = typeof url === 'string' ? new URL(url) : url;
    return exchange(
      this.#agent,
      {
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method,
        headers: {
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          accept: 'application/json',
          ...options.headers,
        },
        ...(hasBody ? { body: JSON.stringify(body) } : {}),
      },
      {
        maxBytes: MAX_RESPONSE_BYTES,
        timeoutMs: Math.max(0, deadlineAtMs - Date.now()),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Maps one DingTalk answer to its JSON value or a typed error. Exported for unit tests. */
export function interpretAnswer(endpoint: string, status: number, text: string): unknown {
  let json: unknown;
  try {
    json = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const fields = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const requestId = stringField(fields['requestid'] ?? fields['requestId'] ?? fields['request_id']);
  if (status < 200 || status >= 300) {
    const apiCode = stringField(fields['code'] ?? fields['errcode']);
    throw new DingTalkApiError({
      endpoint,
      status,
      apiCode,
      apiMessage: stringField(fields['message'] ?? fields['errmsg']),
      requestId,
      body: text,
      retryable: isRetryableAnswer(status, apiCode),
    });
  }
  if (json === undefined && text.trim() !== '') {
    // A 200 that is not JSON comes from a proxy or captive portal, not DingTalk: never count it as sent.
    throw new DingTalkApiError({
      endpoint,
      status,
      apiMessage: 'answer is not JSON',
      requestId,
      body: text,
      retryable: true,
    });
  }
  const errcode = fields['errcode'];
  if (errcode !== undefined && errcode !== 0 && errcode !== '0') {
    const apiCode = stringField(errcode);
    throw new DingTalkApiError({
      endpoint,
      status,
      apiCode,
      apiMessage: stringField(fields['errmsg']),
      requestId,
      body: text,
      retryable: isRetryableAnswer(status, apiCode),
    });
  }
  return json;
}

function stringField(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
