import { inspect } from 'node:util';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { FakeDingTalk } from '../../../test/fakes/fake-dingtalk.js';
import {
  type DingTalkApiHarness,
  rejectionOf,
  startDingTalkApi,
} from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import type { OutgoingMessage } from '../outgoing-message.js';
import type { AccessTokenCache } from './access-token.js';
import type { DingTalkHttp } from './http-client.js';
import {
  MAX_MEDIA_BYTES,
  MEDIA_UPLOAD_ENDPOINT,
  MediaTooLargeError,
  uploadMedia,
  type UploadMediaOptions,
} from './media-upload.js';
import { sendProactive } from './robot-send.js';

const UPLOAD_PATH = '/media/upload';
const TOKEN_PATH = '/v1.0/oauth2/accessToken';

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let http: DingTalkHttp;
let tokens: AccessTokenCache;

beforeEach(async () => {
  api = await startDingTalkApi();
  ({ fake, http, tokens } = api);
});

afterEach(() => api.close());

function options(overrides: Partial<UploadMediaOptions> = {}): UploadMediaOptions {
  return {
    oapiBase: fake.baseUrl,
    tokens,
    type: 'image',
    fileName: 'photo.png',
    contentType: 'image/png',
    bytes: Buffer.from('\x89PNG\r\n\x1a\n image'),
    ...overrides,
  };
}

/** Fails when the error, its message, its fields or its cause chain mention any token the fake issued. */
function expectNoToken(error: unknown): void {
  const text = `${String(error)} ${inspect(error, { depth: 6 })}`;
  expect(fake.issuedAccessTokens.length).toBeGreaterThan(0);
  for (const token of fake.issuedAccessTokens) expect(text).not.toContain(token);
  expect(text).not.toContain('access_token=');
}

describe('uploadMedia', () => {
  it('posts multipart/form-data with the file in the `media` part and the token and type in the query', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const mediaId = await uploadMedia(
      options({ fileName: '季度报告 "终稿".png', bytes: new Uint8Array(bytes) }),
    );

    expect(mediaId).toMatch(/^@lADO/);
    expect(fake.uploads).toEqual([
      {
        type: 'image',
        fileName: '季度报告 "终稿".png',
        contentType: 'image/png',
        bytes,
        mediaId,
        atMs: expect.any(Number) as unknown,
      },
    ]);
    const [request] = await fake.waitForApiRequests(UPLOAD_PATH, 1);
    expect(request?.method).toBe('POST');
    expect(request?.query).toEqual({ access_token: fake.issuedAccessTokens[0], type: 'image' });
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(request?.headers['content-length'])).toBeGreaterThan(bytes.length);
    expect(request?.rawBody).toContain('Content-Disposition: form-data; name="media"; filename="');
  });

  it.each<[UploadMediaOptions['type'], string, string]>([
    ['voice', 'note.amr', 'audio/amr'],
    ['video', 'clip.mp4', 'video/mp4'],
    ['file', 'q4.pdf', 'application/pdf'],
  ])('uploads a %s', async (type, fileName, contentType) => {
    const mediaId = await uploadMedia(options({ type, fileName, contentType }));

    expect(fake.uploads[0]).toMatchObject({ type, fileName, contentType, mediaId });
    expect(fake.media.mediaTypeOf(mediaId)).toBe(type);
  });

  it('surfaces a format DingTalk refuses as a non-retryable DingTalkApiError', async () => {
    const error = await rejectionOf(uploadMedia(options({ type: 'file', fileName: 'notes.txt' })));

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({
      endpoint: MEDIA_UPLOAD_ENDPOINT,
      status: 200,
      apiCode: '40005',
      retryable: false,
    });
    expectNoToken(error);
  });

  it('refuses files above the documented limit, or empty, before sending anything', async () => {
    const tooBig = options({
      type: 'voice',
      fileName: 'a.mp3',
      bytes: Buffer.alloc(MAX_MEDIA_BYTES.voice + 1),
    });
    await expect(uploadMedia(tooBig)).rejects.toBeInstanceOf(MediaTooLargeError);
    await expect(uploadMedia(options({ bytes: Buffer.alloc(0) }))).rejects.toMatchObject({
      name: 'MediaTooLargeError',
      retryable: false,
      sizeBytes: 0,
    });
    expect(fake.apiRequests).toEqual([]);

    await uploadMedia(
      options({ type: 'voice', fileName: 'a.mp3', bytes: Buffer.alloc(MAX_MEDIA_BYTES.voice) }),
    );
    expect(fake.uploads).toHaveLength(1);
  });

  it('refreshes an invalidated token once (oapi errcode 40014) and uploads', async () => {
    await uploadMedia(options());
    fake.invalidateAccessTokens();

    await uploadMedia(options({ fileName: 'second.png' }));

    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expect(api.requestsTo(UPLOAD_PATH)).toBe(3);
    expect(fake.uploads.map((u) => u.fileName)).toEqual(['photo.png', 'second.png']);
    expect(fake.apiRequests.filter((r) => r.path === UPLOAD_PATH)[2]?.query['access_token']).toBe(
      fake.issuedAccessTokens[1],
    );
  });

  it.each(['40014', '88'])('gives up after one refresh when errcode %s persists', async (errcode) => {
    fake.scriptUpload(() => ({
      status: 200,
      body: { errcode: Number(errcode), errmsg: '不合法的access_token' },
    }));

    const error = await rejectionOf(uploadMedia(options()));

    expect(error).toMatchObject({ name: 'DingTalkApiError', apiCode: errcode, retryable: false });
    expect(api.requestsTo(UPLOAD_PATH)).toBe(2);
    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expectNoToken(error);
  });

  it('marks throttling errcodes retryable and does not retry them itself', async () => {
    fake.scriptUpload(() => ({ status: 200, body: { errcode: 90002, errmsg: 'too many requests' } }));

    await expect(uploadMedia(options())).rejects.toMatchObject({ apiCode: '90002', retryable: true });
    expect(api.requestsTo(UPLOAD_PATH)).toBe(1);
  });

  it('reports a dropped connection as DingTalkTransportError without the token anywhere', async () => {
    fake.scriptApi(UPLOAD_PATH, () => ({ destroySocket: true }));
    const onCall = vi.fn();

    const error = await rejectionOf(uploadMedia(options({ onCall })));

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect((error as Error).message).toContain(MEDIA_UPLOAD_ENDPOINT);
    expectNoToken(error);
    expect(onCall).toHaveBeenCalledWith(MEDIA_UPLOAD_ENDPOINT, 'transport');
  });

  it('enforces timeoutMs', async () => {
    fake.scriptUpload(() => ({ status: 200, body: { errcode: 0, media_id: '@lADOlate' }, delayMs: 1_000 }));

    await expect(uploadMedia(options({ timeoutMs: 50 }))).rejects.toBeInstanceOf(DingTalkTransportError);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    fake.scriptUpload(() => {
      controller.abort();
      return { status: 200, body: { errcode: 0, media_id: '@lADOlate' }, delayMs: 1_000 };
    });

    await expect(uploadMedia(options({ signal: controller.signal }))).rejects.toBeInstanceOf(
      DingTalkTransportError,
    );
  });

  it('refuses a 200 without media_id, and a non-JSON 502 page', async () => {
    fake.scriptUpload(() => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } }));
    await expect(uploadMedia(options())).rejects.toMatchObject({
      name: 'DingTalkApiError',
      message: expect.stringContaining('no media_id') as unknown,
    });

    fake.scriptUpload(() => ({
      status: 502,
      rawBody: '<html>bad gateway</html>',
      headers: { 'content-type': 'text/html' },
    }));
    await expect(uploadMedia(options())).rejects.toMatchObject({ status: 502, retryable: true });
  });

  it('yields ids that the proactive API accepts in native image/file/audio/video messages', async () => {
    const upload = (type: UploadMediaOptions['type'], fileName: string): Promise<string> =>
      uploadMedia(options({ type, fileName, contentType: 'application/octet-stream' }));
    const image = await upload('image', 'cover.jpg');
    const file = await upload('file', 'q4.pdf');
    const voice = await upload('voice', 'note.amr');
    const video = await upload('video', 'clip.mp4');
    const sender = { apiBase: fake.baseUrl, robotCode: fake.options.clientId, tokens, http };
    const messages: OutgoingMessage[] = [
      { kind: 'image', mediaId: image },
      { kind: 'file', mediaId: file, fileName: 'q4.pdf', fileType: 'pdf' },
      { kind: 'audio', mediaId: voice, durationMs: 3000 },
      { kind: 'video', mediaId: video, durationSeconds: 10, videoType: 'mp4', coverMediaId: image },
    ];

    for (const message of messages)
      await sendProactive(sender, { kind: 'dm', userId: 'manager807' }, message);

    expect(fake.robotMessages.map((m) => [m.msgKey, m.msgParam])).toEqual([
      ['sampleImageMsg', { photoURL: image }],
      ['sampleFile', { mediaId: file, fileName: 'q4.pdf', fileType: 'pdf' }],
      ['sampleAudio', { mediaId: voice, duration: '3000' }],
      ['sampleVideo', { duration: '10', videoMediaId: video, videoType: 'mp4', picMediaId: image }],
    ]);
  });
});
