import { z } from 'zod';

import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import { abortable } from '../../util/abortable.js';
import type { DingTalkHttp } from './http-client.js';

/** Endpoint name of the token call in errors and metrics. */
export const ACCESS_TOKEN_ENDPOINT = 'oauth2/accessToken';

/** How long before its expiry a cached token is replaced. */
export const DEFAULT_REFRESH_MARGIN_MS = 300_000;

export interface AccessTokenOptions {
  readonly http: DingTalkHttp;
  /** New-style API origin without a trailing slash, e.g. `https://api.dingtalk.com`. */
  readonly apiBase: string;
  readonly appKey: string;
  /** Sent only in the JSON body of the token request; never part of a URL, log or error. */
  readonly appSecret: string;
  /**
   * A token is replaced this long before DingTalk says it expires; capped at half the token's lifetime
   * so short-lived tokens are still reused. @defaultValue {@link DEFAULT_REFRESH_MARGIN_MS}
   */
  readonly refreshMarginMs?: number;
  /** Clock in epoch ms, injectable for tests. @defaultValue `Date.now` */
  readonly now?: () => number;
}

const TokenAnswer = z.looseObject({
  accessToken: z.string().min(1),
  expireIn: z.coerce.number().positive(),
});

interface CachedToken {
  readonly token: string;
  readonly refreshAtMs: number;
}

/**
 * Per-account cache of the new-style app access token (`POST {apiBase}/v1.0/oauth2/accessToken` with
 * `{appKey, appSecret}` → `{accessToken, expireIn}` in seconds).
 *
 * A token is reused until `expireIn` minus the refresh margin. Concurrent callers share one token
 * request; a failed request is not remembered, so the next call asks again. Failures are
 * `DingTalkApiError` (bad credentials: non-retryable 400 `invalidClientIdOrSecret` or 401) or
 * `DingTalkTransportError`.
 */
export class AccessTokenCache {
  readonly #options: AccessTokenOptions;
  readonly #now: () => number;
  #cached: CachedToken | undefined;
  #refreshing: Promise<string> | undefined;

  constructor(options: AccessTokenOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A valid token, from the cache or from one shared request. Aborting `signal` rejects this caller
   * with a `DingTalkTransportError` but leaves the shared request running for the others.
   */
  get(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached !== undefined && this.#now() < cached.refreshAtMs) return Promise.resolve(cached.token);
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    if (signal === undefined) return this.#refreshing;
    return abortable(
      this.#refreshing,
      signal,
      (reason) => new DingTalkTransportError(ACCESS_TOKEN_ENDPOINT, reason),
    );
  }

  /** Forgets `token` if it is still the cached one (DingTalk refused it); later tokens are kept. */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  async #refresh(): Promise<string> {
    const { http, apiBase, appKey, appSecret } = this.#options;
    // Lifetime counts from before the request: DingTalk started the clock somewhere in between.
    const requestedAtMs = this.#now();
    const answer = await http.postJson(
      `${apiBase}/v1.0/oauth2/accessToken`,
      { appKey, appSecret },
      { endpoint: ACCESS_TOKEN_ENDPOINT },
    );
    const parsed = TokenAnswer.safeParse(answer);
    if (!parsed.success) {
      // The body is left out on purpose: it may hold a token.
      throw new DingTalkApiError({
        endpoint: ACCESS_TOKEN_ENDPOINT,
        status: 200,
        apiMessage: 'answer has no usable accessToken/expireIn',
        body: '',
        retryable: true,
      });
    }
    const lifetimeMs = parsed.data.expireIn * 1000;
    const marginMs = Math.min(this.#options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS, lifetimeMs / 2);
    this.#cached = { token: parsed.data.accessToken, refreshAtMs: requestedAtMs + lifetimeMs - marginMs };
    return parsed.data.accessToken;
  }
}

// oapi errcodes meaning "this access token is invalid or expired" (dingtalk-protocol.md §4, §8).
const INVALID_TOKEN_ERRCODES = new Set(['40014', '88', '42001']);

/**
 * True when DingTalk refused the access token itself: HTTP 401, 400/403 with code
 * `InvalidAuthentication` (any case), or oapi errcode 40014, 88 or 42001. A 401 from the token
 * endpoint means bad app credentials and is not counted.
 */
export function isInvalidTokenError(error: unknown): boolean {
  if (!(error instanceof DingTalkApiError) || error.endpoint === ACCESS_TOKEN_ENDPOINT) return false;
  if (error.status === 401) return true;
  const apiCode = error.apiCode;
  if (apiCode === undefined) return false;
  if ((error.status === 400 || error.status === 403) && apiCode.toLowerCase() === 'invalidauthentication') {
    return true;
  }
  return INVALID_TOKEN_ERRCODES.has(apiCode);
}

/**
 * Runs `fn` with a token from `cache`. When `fn` fails with an invalid-token answer
 * ({@link isInvalidTokenError}), the token is invalidated and `fn` runs once more with a fresh one;
 * any other failure, or a second failure, is thrown as it is.
 */
export async function withAccessToken<T>(
  cache: AccessTokenCache,
  fn: (token: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const token = await cache.get(signal);
  try {
    return await fn(token);
  } catch (error) {
    if (!isInvalidTokenError(error)) throw error;
    cache.invalidate(token);
  }
  return fn(await cache.get(signal));
}
