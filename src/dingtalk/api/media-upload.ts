import { FormData, request, type Dispatcher } from 'undici';

import { DingTalkApiError, DingTalkTransportError, ERROR_CODES, GatewayError } from '../../errors.js';
import { withAccessToken, type AccessTokenCache } from './access-token.js';
import { interpretAnswer } from './http-client.js';
import { withDeadline } from '../../util/deadline-signal.js';
import { readBodyCapped } from '../../util/http-body.js';

/** Endpoint name of `POST {oapiBase}/media/upload` in errors and metrics. */
export const MEDIA_UPLOAD_ENDPOINT = 'media/upload';

/** Upload `type`s of `media/upload`. */
export type MediaType = 'image' | 'voice' | 'video' | 'file';

/**
 * Largest file DingTalk takes per upload type (dingtalk-protocol.md §6.1), in bytes. Enforced locally so a
 * file that would be refused is never sent; the allowed formats are left to DingTalk to judge.
 */
export const MAX_MEDIA_BYTES = {
  image: 20 * 1024 * 1024,
  voice: 2 * 1024 * 1024,
  video: 20 * 1024 * 1024,
  file: 20 * 1024 * 1024,
} as const satisfies Record<MediaType, number>;

/** Deadline of one upload attempt unless the caller passes its own. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 60_000;

// Upload answers are tiny JSON documents; anything longer is not DingTalk.
const MAX_ANSWER_BYTES = 65_536;

export interface UploadMediaOptions {
  /** Legacy API origin without a trailing slash, e.g. `https://oapi.dingtalk.com`. */
  readonly oapiBase: string;
  /** New-style tokens are accepted as oapi `access_token` for internal apps (reference §4). */
  readonly tokens: AccessTokenCache;
  readonly type: MediaType;
  /** Sent as the part's filename; DingTalk judges the format by its extension. */
  readonly fileName: string;
  /** Content-Type of the `media` part. */
  readonly contentType: string;
  readonly bytes: Buffer | Uint8Array;
  readonly signal?: AbortSignal;
  /** Per-attempt deadline. @defaultValue {@link DEFAULT_UPLOAD_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /**
   * Connection pool to use. Uploads are large and slow next to the JSON calls of `DingTalkHttp`, whose
   * agent is tuned for those, so they go through the caller's dispatcher or undici's global one.
   * @defaultValue undici's global dispatcher
   */
  readonly dispatcher?: Dispatcher;
  /** Told about every attempt: endpoint name and HTTP status, or `transport` when unreachable. */
  readonly onCall?: (endpoint: string, status: string) => void;
}

/** A file above {@link MAX_MEDIA_BYTES} (or empty); refused before anything is sent. */
export class MediaTooLargeError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_API;
  readonly retryable = false;
  readonly type: MediaType;
  readonly sizeBytes: number;

  constructor(type: MediaType, sizeBytes: number) {
    super(
      `DingTalk ${MEDIA_UPLOAD_ENDPOINT} refused locally: a ${type} of ${sizeBytes} bytes is outside ` +
        `1..${MAX_MEDIA_BYTES[type]} bytes`,
    );
    this.type = type;
    this.sizeBytes = sizeBytes;
  }
}

/**
 * Uploads one file to `POST {oapiBase}/media/upload?access_token=…&type=…` as `multipart/form-data`
 * (file part `media`, with filename and content type) and returns DingTalk's `media_id`, usable in
 * `sampleImageMsg`/`sampleFile`/`sampleAudio`/`sampleVideo` and markdown images.
 *
 * The token travels in the query because oapi requires it there; no error message, cause or log line
 * built here contains the URL. An invalid-token answer (errcode 40014/88/42001) refreshes the token and
 * uploads once more; nothing else is retried.
 *
 * Throws {@link MediaTooLargeError} before any request; `DingTalkApiError` when DingTalk refuses (for
 * example errcode 40005 for a format the type does not allow) or answers without a `media_id`;
 * `DingTalkTransportError` when it cannot be reached or the attempt exceeds `timeoutMs`.
 */
export async function uploadMedia(options: UploadMediaOptions): Promise<string> {
  const { type, bytes } = options;
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_MEDIA_BYTES[type]) {
    throw new MediaTooLargeError(type, bytes.byteLength);
  }
  // Parsed before a token exists, so a malformed base cannot put the token into a URL parse error.
  const base = `${options.oapiBase}/media/upload`;
  if (!URL.canParse(base))
    throw new DingTalkTransportError(MEDIA_UPLOAD_ENDPOINT, new Error('invalid oapiBase'));
  const url = new URL(base);
  const answer = await withAccessToken(
    options.tokens,
    async (token) => {
      url.search = new URLSearchParams({ access_token: token, type }).toString();
      return postUpload(url, options);
    },
    options.signal,
  );
  const mediaId = (answer as Record<string, unknown> | undefined)?.['media_id'];
  if (typeof mediaId !== 'string' || mediaId === '') {
    throw new DingTalkApiError({
      endpoint: MEDIA_UPLOAD_ENDPOINT,
      status: 200,
      apiMessage: 'answer has no media_id',
      body: '',
      retryable: true,
    });
  }
  return mediaId;
}

async function postUpload(url: URL, options: UploadMediaOptions): Promise<unknown> {
  const form = new FormData();
  // A fresh Blob per attempt: the body is read once per request.
  form.append('media', new Blob([options.bytes], { type: options.contentType }), options.fileName);
  let answer: { status: number; text: string };
  try {
    answer = await withDeadline(
      options.timeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS,
      options.signal,
      async (signal) => {
        const response = await request(url, {
          method: 'POST',
          headers: { accept: 'application/json' },
          body: form,
          signal,
          ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
        });
        return { status: response.statusCode, text: await readAnswerText(response.body) };
      },
    );
  } catch (error) {
    options.onCall?.(MEDIA_UPLOAD_ENDPOINT, 'transport');
    throw new DingTalkTransportError(MEDIA_UPLOAD_ENDPOINT, error);
  }
  options.onCall?.(MEDIA_UPLOAD_ENDPOINT, String(answer.status));
  return interpretAnswer(MEDIA_UPLOAD_ENDPOINT, answer.status, answer.text);
}

async function readAnswerText(body: Dispatcher.ResponseData['body']): Promise<string> {
  return (await readBodyCapped(body, MAX_ANSWER_BYTES)).bytes.toString('utf8');
}
