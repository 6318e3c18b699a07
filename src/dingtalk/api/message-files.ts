import { setTimeout as sleep } from 'node:timers/promises';

import { request, type Dispatcher } from 'undici';

import { DEFAULT_DOWNLOAD_HOSTS } from '../../config/schema.js';
import { DingTalkApiError, describeCause, ERROR_CODES, GatewayError, type ErrorCode } from '../../errors.js';
import type { AccessTokenCache } from './access-token.js';
import type { DingTalkHttp } from './http-client.js';
import { callOpenApi } from './openapi-call.js';
import { withDeadline } from '../../util/deadline-signal.js';
import { discardBody } from '../../util/discard-body.js';
import { firstHeader, readBodyCapped } from '../../util/http-body.js';

/** Endpoint name of `POST {apiBase}/v1.0/robot/messageFiles/download` in errors and metrics. */
export const MESSAGE_FILES_DOWNLOAD_ENDPOINT = 'robot/messageFiles/download';

/** Redirects {@link downloadFile} follows unless told otherwise. */
export const DEFAULT_MAX_REDIRECTS = 3;
/** Retries of a transient failure (5xx, reset, refused connection) unless told otherwise. */
export const DEFAULT_MAX_RETRIES = 3;
/** Pause before the first retry; doubled before each later one. */
export const DEFAULT_RETRY_DELAY_MS = 200;

export interface ResolveDownloadUrlOptions {
  readonly http: DingTalkHttp;
  /** New-style API origin without a trailing slash. */
  readonly apiBase: string;
  /** The bot's robotCode (the app's clientId for internal-app bots). */
  readonly robotCode: string;
  readonly tokens: AccessTokenCache;
  /** `downloadCode` of an inbound picture/file/audio/video/richText element (reference §2.2). */
  readonly downloadCode: string;
  /**
   * Host patterns the returned URL may point at (see {@link downloadHostsFor}).
   * @defaultValue {@link DEFAULT_DOWNLOAD_HOSTS} plus the host of `apiBase`
   */
  readonly allowedHosts?: readonly string[];
  readonly signal?: AbortSignal;
}

/**
 * The download host patterns in force for an account: the configured ones (`downloadHosts`) plus the
 * hosts of its API bases, where DingTalk (and a test fake) may serve files itself.
 */
export function downloadHostsFor(configured: readonly string[], bases: readonly string[]): string[] {
  const baseHosts = bases.filter((base) => URL.canParse(base)).map((base) => new URL(base).hostname);
  return [...new Set([...configured, ...baseHosts].map(normalizeHost))];
}

/** Whether `hostname` matches a pattern: exactly, or `*.example.com` for any subdomain of example.com. */
export function isAllowedDownloadHost(hostname: string, patterns: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  return patterns.some((pattern) => {
    const normalized = normalizeHost(pattern);
    return normalized.startsWith('*.') ? host.endsWith(normalized.slice(1)) : host === normalized;
  });
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** Refuses `url` unless its host is allowed; checked before any request is made to it. */
function assertDownloadHost(url: URL, allowedHosts: readonly string[] | undefined): void {
  if (allowedHosts === undefined || isAllowedDownloadHost(url.hostname, allowedHosts)) return;
  throw new MediaDownloadError(
    'host-refused',
    target(url),
    `host ${url.hostname} is not an allowed download host (channels.dingtalk.downloadHosts)`,
  );
}

/**
 * Trades a `downloadCode` for a short-lived, presigned download URL. An invalid access token is
 * refreshed and the call retried once; nothing else is retried. The URL is a secret: keep it out of logs.
 *
 * Throws `DingTalkApiError` when DingTalk refuses (e.g. 400 for an unknown or expired code) or answers
 * without a usable http(s) `downloadUrl`, `DingTalkTransportError` when it cannot be reached, and
 * `MediaDownloadError` (`host-refused`) when the URL is not on an allowed download host (a forged or
 * misdirected answer must not make the gateway fetch from anywhere).
 */
export async function resolveDownloadUrl(options: ResolveDownloadUrlOptions): Promise<string> {
  const { http, apiBase, robotCode, tokens, downloadCode, signal } = options;
  const allowedHosts = options.allowedHosts ?? downloadHostsFor(DEFAULT_DOWNLOAD_HOSTS, [apiBase]);
  const operation = {
    method: 'POST',
    path: '/v1.0/robot/messageFiles/download',
    endpoint: MESSAGE_FILES_DOWNLOAD_ENDPOINT,
  } as const;
  const answer = await callOpenApi({ http, apiBase, tokens, signal }, operation, { downloadCode, robotCode });
  const downloadUrl = (answer as Record<string, unknown> | undefined)?.['downloadUrl'];
  if (typeof downloadUrl !== 'string' || !URL.canParse(downloadUrl) || !isHttp(new URL(downloadUrl))) {
    // The body is left out on purpose: it may hold a signed URL.
    throw new DingTalkApiError({
      endpoint: MESSAGE_FILES_DOWNLOAD_ENDPOINT,
      status: 200,
      apiMessage: 'answer has no usable downloadUrl',
      body: '',
      retryable: true,
    });
  }
  assertDownloadHost(new URL(downloadUrl), allowedHosts);
  return downloadUrl;
}

/** Why a download failed. */
export type MediaDownloadFailure =
  | 'bad-url'
  | 'host-refused'
  | 'too-large'
  | 'http-status'
  | 'redirect-refused'
  | 'transport'
  | 'timeout'
  | 'aborted';

const FAILURE_CODES: Readonly<Record<MediaDownloadFailure, ErrorCode>> = {
  'bad-url': ERROR_CODES.DINGTALK_URL_REFUSED,
  'host-refused': ERROR_CODES.DINGTALK_URL_REFUSED,
  'too-large': ERROR_CODES.DINGTALK_API,
  'http-status': ERROR_CODES.DINGTALK_API,
  'redirect-refused': ERROR_CODES.DINGTALK_URL_REFUSED,
  transport: ERROR_CODES.DINGTALK_TRANSPORT,
  timeout: ERROR_CODES.DINGTALK_TRANSPORT,
  aborted: ERROR_CODES.DINGTALK_TRANSPORT,
};

/**
 * A file could not be downloaded. `target` is the URL without its query string (which holds the
 * signature); neither the message nor any field carries the query or the response body.
 */
export class MediaDownloadError extends GatewayError {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly reason: MediaDownloadFailure;
  /** HTTP status for `http-status`, else `undefined`. */
  readonly status: number | undefined;
  /** `<Code>` of an OSS-style XML error body (`AccessDenied`, `SignatureDoesNotMatch`), when present. */
  readonly apiCode: string | undefined;
  /** Origin and path of the URL that failed. */
  readonly target: string;

  constructor(
    reason: MediaDownloadFailure,
    target: string,
    detail: string,
    extra: { status?: number; apiCode?: string | undefined; cause?: unknown } = {},
  ) {
    super(
      `media download from ${target} failed (${reason}): ${detail}`,
      'cause' in extra ? { cause: extra.cause } : undefined,
    );
    this.reason = reason;
    this.target = target;
    this.status = extra.status;
    this.apiCode = extra.apiCode;
    this.code = FAILURE_CODES[reason];
    const status = extra.status ?? 0;
    this.retryable =
      reason === 'transport' ||
      reason === 'timeout' ||
      (reason === 'http-status' && isTransientStatus(status));
  }
}

export interface DownloadFileOptions {
  /** Largest body accepted; a larger one is refused by Content-Length or cut off while streaming. */
  readonly maxBytes: number;
  /** Deadline of the whole download, redirects and retries included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** @defaultValue undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /** @defaultValue {@link DEFAULT_MAX_REDIRECTS} */
  readonly maxRedirects?: number;
  /** @defaultValue {@link DEFAULT_MAX_RETRIES} */
  readonly maxRetries?: number;
  /** @defaultValue {@link DEFAULT_RETRY_DELAY_MS} */
  readonly retryDelayMs?: number;
  /** Host patterns the URL and every redirect must match ({@link downloadHostsFor}); unset = any host. */
  readonly allowedHosts?: readonly string[];
}

export interface DownloadedFile {
  readonly bytes: Buffer;
  /** Content-Type of the final response, when it had one. */
  readonly contentType: string | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Enough of an error body to find an OSS `<Code>`.
const MAX_ERROR_BODY_BYTES = 4_096;

/**
 * Streams `url` (typically a presigned OSS URL from {@link resolveDownloadUrl}) into memory with a plain
 * GET. No request headers are added: a presigned URL's signature covers Content-Type, so sending one
 * makes OSS answer 403 `SignatureDoesNotMatch`.
 *
 * Redirects are followed up to `maxRedirects` times, only to http(s) and never from https to http.
 * Transient failures (5xx, connection reset or refused, a body cut short) are retried up to `maxRetries`
 * times with a doubling pause; a 4xx (403 for an expired or tampered URL) is final.
 *
 * Throws {@link MediaDownloadError}: `too-large` as soon as the body exceeds `maxBytes` (before reading
 * when Content-Length says so), `http-status`, `redirect-refused`, `bad-url`, `host-refused` (the URL
 * or a redirect leaves `allowedHosts`; nothing is requested from it), `transport`, `timeout` (past
 * `timeoutMs`) or `aborted` (the caller's `signal`).
 */
export async function downloadFile(url: string, options: DownloadFileOptions): Promise<DownloadedFile> {
  if (!URL.canParse(url)) throw new MediaDownloadError('bad-url', 'an unparsable URL', 'not a URL');
  const start = new URL(url);
  if (!isHttp(start)) {
    throw new MediaDownloadError('bad-url', start.protocol, 'only http and https URLs are downloaded');
  }
  assertDownloadHost(start, options.allowedHosts);
  return withDeadline(options.timeoutMs, options.signal, (signal) => followDownload(start, signal, options));
}

/** The attempts, retries and redirects of {@link downloadFile}, all under `signal`. */
async function followDownload(
  start: URL,
  signal: AbortSignal,
  options: DownloadFileOptions,
): Promise<DownloadedFile> {
  let current = start;
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let retries = 0;
  let redirects = 0;
  for (;;) {
    let outcome: DownloadedFile | URL;
    try {
      outcome = await fetchOnce(current, signal, options);
    } catch (error) {
      const failure = toDownloadError(error, current, signal, options.signal);
      if (!failure.retryable || failure.reason === 'timeout' || retries >= maxRetries) throw failure;
      const delayMs = (options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** retries;
      retries += 1;
      try {
        await sleep(delayMs, undefined, { signal });
      } catch (sleepError) {
        throw toDownloadError(sleepError, current, signal, options.signal);
      }
      continue;
    }
    if (!(outcome instanceof URL)) return outcome;
    redirects += 1;
    if (redirects > maxRedirects) {
      throw new MediaDownloadError(
        'redirect-refused',
        target(current),
        `more than ${maxRedirects} redirects`,
      );
    }
    if (!isHttp(outcome) || (current.protocol === 'https:' && outcome.protocol === 'http:')) {
      throw new MediaDownloadError(
        'redirect-refused',
        target(current),
        `redirect to ${outcome.protocol} refused (from ${current.protocol})`,
      );
    }
    assertDownloadHost(outcome, options.allowedHosts);
    current = outcome;
  }
}

/** One GET: the file, or the URL a redirect points to. Throws what {@link toDownloadError} maps. */
async function fetchOnce(
  url: URL,
  signal: AbortSignal,
  options: DownloadFileOptions,
): Promise<DownloadedFile | URL> {
  const response = await request(url, {
    method: 'GET',
    signal,
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  });
  const { statusCode: status, headers, body } = response;
  if (REDIRECT_STATUSES.has(status)) {
    await body.dump();
    const location = firstHeader(headers['location']);
    if (location === undefined || !URL.canParse(location, url.href)) {
      throw new MediaDownloadError('http-status', target(url), `HTTP ${status} without a usable Location`, {
        status,
      });
    }
    return new URL(location, url);
  }
  if (status < 200 || status >= 300) {
    const { bytes } = await readBodyCapped(body, MAX_ERROR_BODY_BYTES);
    const apiCode = /<Code>([\w.-]{1,64})<\/Code>/.exec(bytes.toString('utf8'))?.[1];
    const detail = `HTTP ${status}${apiCode === undefined ? '' : ` ${apiCode}`}`;
    throw new MediaDownloadError('http-status', target(url), detail, { status, apiCode });
  }
  const declared = Number(firstHeader(headers['content-length']) ?? Number.NaN);
  if (declared > options.maxBytes) {
    discardBody(body);
    throw tooLarge(url, options.maxBytes, `Content-Length ${declared}`);
  }
  const { bytes, isTruncated } = await readBodyCapped(body, options.maxBytes);
  if (isTruncated) throw tooLarge(url, options.maxBytes, 'the body');
  return { bytes, contentType: firstHeader(headers['content-type']) };
}

function tooLarge(url: URL, maxBytes: number, what: string): MediaDownloadError {
  return new MediaDownloadError('too-large', target(url), `${what} exceeds ${maxBytes} bytes`);
}

/** Maps anything thrown by one attempt (or the pause after it) to a {@link MediaDownloadError}. */
function toDownloadError(
  error: unknown,
  url: URL,
  downloadSignal: AbortSignal,
  callerSignal: AbortSignal | undefined,
): MediaDownloadError {
  if (error instanceof MediaDownloadError) return error;
  const where = target(url);
  if (callerSignal?.aborted === true) {
    return new MediaDownloadError('aborted', where, 'aborted by the caller', { cause: error });
  }
  // Aborted while the caller's signal is not: the deadline passed.
  if (downloadSignal.aborted)
    return new MediaDownloadError('timeout', where, 'deadline exceeded', { cause: error });
  return new MediaDownloadError('transport', where, describeCause(error), { cause: error });
}

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

function isHttp(url: URL): boolean {
  return url.protocol === 'https:' || url.protocol === 'http:';
}

/** The URL without query and fragment: the part that is safe to log. */
function target(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
