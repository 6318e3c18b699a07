/**
 * Media half of the fake DingTalk (reference §6): `POST /media/upload` (oapi, multipart field `media`,
 * token in the query), `POST /v1.0/robot/messageFiles/download` (downloadCode → signed URL) and
 * `GET /files/<opaque>`, which serves registered bytes behind an OSS-style presigned URL.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { apiError, oapiAnswer } from './fake-dingtalk-answers.js';
import { multipartBoundary, parseMultipart } from './fake-dingtalk-multipart.js';
import { isNonEmptyString, isRecord, newRequestId, type FakeDingTalkState } from './fake-dingtalk-state.js';
import type { ApiRequestView, ApiScriptHandler, ScriptedResponse } from './fake-dingtalk-types.js';

/** Upload `type`s of `media/upload`. */
export type FakeMediaType = 'image' | 'voice' | 'video' | 'file';

const MB = 1024 * 1024;

/** DingTalk's documented upload limits (§6.1): largest size and allowed filename extensions. */
export const FAKE_MEDIA_LIMITS = {
  image: { maxBytes: 20 * MB, extensions: ['jpg', 'gif', 'png', 'bmp'] },
  voice: { maxBytes: 2 * MB, extensions: ['amr', 'mp3', 'wav'] },
  video: { maxBytes: 20 * MB, extensions: ['mp4'] },
  file: {
    maxBytes: 20 * MB,
    extensions: ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'zip', 'pdf', 'rar'],
  },
} as const satisfies Record<FakeMediaType, { maxBytes: number; extensions: readonly string[] }>;

/** Path prefix of the signed file URLs served by the fake. */
export const FAKE_FILES_PATH_PREFIX = '/files/';

/** One file accepted by `media/upload`. */
export interface RecordedUpload {
  readonly type: FakeMediaType;
  /** Filename of the `media` part, decoded as UTF-8. */
  readonly fileName: string;
  /** Content-Type of the `media` part. */
  readonly contentType: string | undefined;
  readonly bytes: Buffer;
  readonly mediaId: string;
  readonly atMs: number;
}

/** What an upload script sees: the request plus its decoded `media` part, when there is one. */
export interface UploadRequestView extends ApiRequestView {
  readonly upload:
    | {
        readonly type: string | undefined;
        readonly fileName: string | undefined;
        readonly contentType: string | undefined;
        readonly bytes: Buffer;
      }
    | undefined;
}

/** Fault-injection hook for `media/upload`; `undefined` = default behaviour. */
export type UploadScriptHandler = (
  request: UploadRequestView,
) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

/** How the signed URL of a registered download serves its bytes. */
export interface RegisterDownloadOptions {
  /** @defaultValue `'application/octet-stream'` */
  contentType?: string | undefined;
  /** `false` streams the bytes with chunked encoding and no Content-Length. @defaultValue true */
  sendContentLength?: boolean | undefined;
  /** Write the body in pieces of this size. @defaultValue 65_536 */
  chunkBytes?: number | undefined;
  /** Pause between pieces (a slow server). @defaultValue none */
  chunkDelayMs?: number | undefined;
}

interface RegisteredDownload {
  readonly bytes: Buffer;
  readonly options: RegisterDownloadOptions;
}

interface SignedObject {
  readonly downloadCode: string;
  isRevoked: boolean;
}

const OSS_BUCKET = 'fake-dingtalk-files';
const OSS_ACCESS_KEY_ID = 'LTAI5tFakeDingTalkKey';
const DEFAULT_CHUNK_BYTES = 65_536;

/**
 * Uploads, downloads and signed URLs of one fake. `isValidToken` is the fake's access-token check.
 * @internal
 */
export class FakeDingTalkMedia {
  readonly uploads: RecordedUpload[] = [];
  readonly #state: FakeDingTalkState;
  readonly #isValidToken: (token: unknown) => boolean;
  readonly #mediaTypes = new Map<string, FakeMediaType>();
  readonly #downloads = new Map<string, RegisteredDownload>();
  readonly #objects = new Map<string, SignedObject>();
  readonly #signingKey = randomBytes(20);
  #uploadScript: UploadScriptHandler | undefined;
  #filesScript: ApiScriptHandler | undefined;

  constructor(state: FakeDingTalkState, isValidToken: (token: unknown) => boolean) {
    this.#state = state;
    this.#isValidToken = isValidToken;
  }

  /** Upload type of a media_id this fake issued, else `undefined`. */
  mediaTypeOf(mediaId: string): FakeMediaType | undefined {
    return this.#mediaTypes.get(mediaId);
  }

  /** Makes `downloadCode` resolvable through messageFiles/download; its URL serves `bytes`. */
  registerDownload(
    downloadCode: string,
    bytes: Buffer | Uint8Array | string,
    options: string | RegisterDownloadOptions = {},
  ): void {
    const resolved = typeof options === 'string' ? { contentType: options } : options;
    this.#downloads.set(downloadCode, { bytes: Buffer.from(bytes), options: resolved });
  }

  /** Scripts `media/upload` answers; a handler result of `undefined` keeps the default behaviour. */
  scriptUpload(handler: UploadScriptHandler | undefined): void {
    this.#uploadScript = handler;
  }

  /** Scripts every `GET /files/…` answer (502s, resets, redirects); `undefined` = default behaviour. */
  scriptFiles(handler: ApiScriptHandler | undefined): void {
    this.#filesScript = handler;
  }

  /** Every signed URL handed out so far answers 403 `AccessDenied` "Request has expired." from now on. */
  expireDownloadUrls(): void {
    for (const object of this.#objects.values()) object.isRevoked = true;
  }

  /** `POST /media/upload?access_token=…&type=…`; every outcome is an oapi-style HTTP 200. */
  async upload(view: ApiRequestView, buffer: Buffer): Promise<ScriptedResponse> {
    const boundary = multipartBoundary(view.headers['content-type']);
    const parts = boundary === undefined ? undefined : parseMultipart(buffer, boundary);
    const media = parts?.find((part) => part.name === 'media' && part.filename !== undefined);
    const type = view.query['type'];
    const upload =
      media === undefined
        ? undefined
        : { type, fileName: media.filename, contentType: media.contentType, bytes: media.bytes };
    const scripted = await this.#uploadScript?.({ ...view, upload });
    if (scripted !== undefined) return scripted;
    if (!this.#isValidToken(view.query['access_token'])) return oapiAnswer(40014, '不合法的access_token');
    if (!isMediaType(type)) return oapiAnswer(40004, '不合法的媒体文件类型');
    if (media?.filename === undefined) return oapiAnswer(41005, '缺少多媒体文件数据');
    const limits = FAKE_MEDIA_LIMITS[type];
    const extension = /\.([^./\\]+)$/.exec(media.filename)?.[1]?.toLowerCase() ?? '';
    if (!(limits.extensions as readonly string[]).includes(extension)) {
      return oapiAnswer(40005, '不合法的文件类型');
    }
    if (media.bytes.length === 0 || media.bytes.length > limits.maxBytes) {
      return oapiAnswer(40006, '不合法的文件大小');
    }
    const mediaId = `@lADO${randomBytes(12).toString('base64').replace(/[+/=]/g, 'x')}`;
    const atMs = Date.now();
    this.#mediaTypes.set(mediaId, type);
    this.uploads.push({
      type,
      fileName: media.filename,
      contentType: media.contentType,
      bytes: Buffer.from(media.bytes),
      mediaId,
      atMs,
    });
    return { status: 200, body: { errcode: 0, errmsg: 'ok', media_id: mediaId, created_at: atMs, type } };
  }

  /** `POST /v1.0/robot/messageFiles/download {downloadCode, robotCode}` → `{downloadUrl}`. */
  messageFilesDownload(view: ApiRequestView): ScriptedResponse {
    const { options } = this.#state;
    if (!this.#isValidToken(view.headers['x-acs-dingtalk-access-token'])) {
      return apiError(options.invalidTokenStatus, 'InvalidAuthentication', '不合法的access_token');
    }
    const body = isRecord(view.body) ? view.body : {};
    const robotCode = body['robotCode'];
    if (!isNonEmptyString(robotCode))
      return apiError(400, 'invalidParameter.robotCode.empty', 'robotCode 为空');
    if (robotCode !== options.clientId) {
      return apiError(400, 'invalidParameter.robotCode.invalid', 'robotCode 不合法');
    }
    const downloadCode = body['downloadCode'];
    if (!isNonEmptyString(downloadCode) || !this.#downloads.has(downloadCode)) {
      return apiError(400, 'invalidParameter.downloadCode', 'downloadCode 不合法或已过期');
    }
    const opaque = randomBytes(16).toString('hex');
    this.#objects.set(opaque, { downloadCode, isRevoked: false });
    const expires = Math.floor((Date.now() + options.downloadUrlTtlMs) / 1000);
    const query = new URLSearchParams({
      Expires: String(expires),
      OSSAccessKeyId: OSS_ACCESS_KEY_ID,
      Signature: this.#sign(opaque, String(expires), '', ''),
    });
    return {
      status: 200,
      body: { downloadUrl: `${this.#state.baseUrl}${FAKE_FILES_PATH_PREFIX}${opaque}?${query.toString()}` },
    };
  }

  /**
   * `GET /files/<opaque>?Expires=…&OSSAccessKeyId=…&Signature=…`, checked like OSS: expiry first, then
   * the signature, which covers the request's Content-Type and Content-MD5 headers, so a client that
   * sends a Content-Type gets 403 `SignatureDoesNotMatch`.
   */
  async serveFile(view: ApiRequestView): Promise<ScriptedResponse> {
    const scripted = await this.#filesScript?.(view);
    if (scripted !== undefined) return scripted;
    const opaque = view.path.slice(FAKE_FILES_PATH_PREFIX.length);
    const object = this.#objects.get(opaque);
    const expires = view.query['Expires'] ?? '';
    const expiresMs = /^\d+$/.test(expires) ? Number(expires) * 1000 : 0;
    if (object?.isRevoked === true || Date.now() >= expiresMs) {
      return ossError(403, 'AccessDenied', 'Request has expired.', { Expires: expires });
    }
    const contentType = headerText(view.headers['content-type']);
    const contentMd5 = headerText(view.headers['content-md5']);
    const expected = this.#sign(opaque, expires, contentType, contentMd5);
    const provided = view.query['Signature'] ?? '';
    const download = object === undefined ? undefined : this.#downloads.get(object.downloadCode);
    if (
      object === undefined ||
      view.query['OSSAccessKeyId'] !== OSS_ACCESS_KEY_ID ||
      !safeEqual(expected, provided)
    ) {
      return ossError(403, 'SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE, {
        SignatureProvided: provided,
        StringToSign: stringToSign(opaque, expires, contentType, contentMd5),
        OSSAccessKeyId: view.query['OSSAccessKeyId'] ?? '',
      });
    }
    if (download === undefined) return ossError(404, 'NoSuchKey', 'The specified key does not exist.', {});
    const { contentType: type, sendContentLength, chunkBytes, chunkDelayMs } = download.options;
    return {
      status: 200,
      rawBody: download.bytes,
      headers: {
        'content-type': type ?? 'application/octet-stream',
        'x-oss-request-id': newRequestId().slice(0, 24),
        etag: `"${createHash('md5').update(download.bytes).digest('hex').toUpperCase()}"`,
        ...(sendContentLength === false ? {} : { 'content-length': String(download.bytes.length) }),
      },
      chunkBytes: chunkBytes ?? DEFAULT_CHUNK_BYTES,
      ...(chunkDelayMs === undefined ? {} : { chunkDelayMs }),
    };
  }

  #sign(opaque: string, expires: string, contentType: string, contentMd5: string): string {
    const text = stringToSign(opaque, expires, contentType, contentMd5);
    return createHmac('sha1', this.#signingKey).update(text).digest('base64');
  }
}

const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your key and signing method.';

function stringToSign(opaque: string, expires: string, contentType: string, contentMd5: string): string {
  return `GET\n${contentMd5}\n${contentType}\n${expires}\n/${OSS_BUCKET}/${opaque}`;
}

function isMediaType(value: unknown): value is FakeMediaType {
  return typeof value === 'string' && Object.hasOwn(FAKE_MEDIA_LIMITS, value);
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** An OSS error document (`application/xml`). Like OSS, it echoes what the client signed. */
function ossError(
  status: number,
  code: string,
  message: string,
  extra: Readonly<Record<string, string>>,
): ScriptedResponse {
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const fields = Object.entries({ Code: code, Message: message, RequestId: newRequestId(), ...extra });
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n' +
    fields.map(([key, value]) => `  <${key}>${escape(value)}</${key}>\n`).join('') +
    '</Error>\n';
  return { status, rawBody: xml, headers: { 'content-type': 'application/xml' } };
}
