import { FormData, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import {
  audioMessage,
  fileMessage,
  picture,
  pictureDownloadCodeOf,
  quotedText,
  repliedMessage,
  richText,
  videoMessage,
} from './bot-message-factory.js';
import { FakeDingTalk } from './fake-dingtalk.js';
import type { FakeDingTalkOptions } from './fake-dingtalk.js';

const MB = 1024 * 1024;

let fake: FakeDingTalk | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function startFake(options: FakeDingTalkOptions = {}): Promise<FakeDingTalk> {
  fake = await FakeDingTalk.start(options);
  return fake;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer | FormData } = {},
): Promise<Answer> {
  const response = await request(url, {
    method: init.method ?? 'GET',
    ...(init.headers === undefined ? {} : { headers: init.headers }),
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

async function accessToken(target: FakeDingTalk): Promise<string> {
  const answer = await send(`${target.baseUrl}/v1.0/oauth2/accessToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appKey: target.options.clientId, appSecret: target.options.clientSecret }),
  });
  return (answer.json as { accessToken: string }).accessToken;
}

function mediaForm(fileName: string, bytes: Buffer, contentType: string, field = 'media'): FormData {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type: contentType }), fileName);
  return form;
}

async function upload(
  target: FakeDingTalk,
  token: string,
  type: string | undefined,
  body: FormData | Buffer,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const query = new URLSearchParams({ access_token: token, ...(type === undefined ? {} : { type }) });
  const answer = await send(`${target.baseUrl}/media/upload?${query.toString()}`, {
    method: 'POST',
    headers,
    body,
  });
  expect(answer.status).toBe(200);
  return answer.json as Record<string, unknown>;
}

async function downloadUrl(target: FakeDingTalk, token: string, downloadCode: string): Promise<Answer> {
  return send(`${target.baseUrl}/v1.0/robot/messageFiles/download`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': token },
    body: JSON.stringify({ downloadCode, robotCode: target.options.clientId }),
  });
}

describe('FakeDingTalk media/upload', () => {
  it('accepts a multipart `media` part and records it, non-ASCII filename included', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const bytes = Buffer.from('\x89PNG fake image bytes');

    const answer = await upload(target, token, 'image', mediaForm('截图 "1".png', bytes, 'image/png'));

    expect(answer).toMatchObject({ errcode: 0, errmsg: 'ok', type: 'image' });
    expect(answer['media_id']).toMatch(/^@lADO[\w]+$/);
    expect(answer['created_at']).toEqual(expect.any(Number));
    expect(target.uploads).toEqual([
      {
        type: 'image',
        fileName: '截图 "1".png',
        contentType: 'image/png',
        bytes,
        mediaId: answer['media_id'],
        atMs: expect.any(Number) as unknown,
      },
    ]);
    expect(target.media.mediaTypeOf(answer['media_id'] as string)).toBe('image');
  });

  it('parses a hand-written body with a preamble, a quoted boundary and filename*', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const body = Buffer.concat([
      Buffer.from('preamble\r\n--b-1\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--b-1\r\n'),
      Buffer.from(
        'Content-Disposition: form-data; name="media"; filename="x.pdf"; ' +
          "filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf\r\nContent-Type: application/pdf\r\n\r\n",
      ),
      Buffer.from('%PDF-1.4\r\n--b-2 is not the delimiter'),
      Buffer.from('\r\n--b-1--\r\n'),
    ]);

    const answer = await upload(target, token, 'file', body, {
      'content-type': 'multipart/form-data; boundary="b-1"',
    });

    expect(answer).toMatchObject({ errcode: 0, type: 'file' });
    expect(target.uploads[0]).toMatchObject({ fileName: '报告.pdf', contentType: 'application/pdf' });
    expect(target.uploads[0]?.bytes.toString()).toBe('%PDF-1.4\r\n--b-2 is not the delimiter');
  });

  it.each<[string, string | undefined, string, number, string, number]>([
    ['an unknown type', 'sticker', 'a.png', 10, 'media', 40004],
    ['a missing type', undefined, 'a.png', 10, 'media', 40004],
    ['a part not named media', 'image', 'a.png', 10, 'file', 41005],
    ['an image format DingTalk refuses', 'image', 'a.webp', 10, 'media', 40005],
    ['a file without extension', 'file', 'README', 10, 'media', 40005],
    ['a .txt file', 'file', 'notes.txt', 10, 'media', 40005],
    ['a voice above 2 MB', 'voice', 'a.mp3', 2 * MB + 1, 'media', 40006],
    ['an empty file', 'video', 'a.mp4', 0, 'media', 40006],
  ])('refuses %s with an oapi errcode', async (_name, type, fileName, size, field, errcode) => {
    const target = await startFake();
    const token = await accessToken(target);
    const form = mediaForm(fileName, Buffer.alloc(size, 1), 'application/octet-stream', field);

    expect(await upload(target, token, type, form)).toMatchObject({ errcode });
    expect(target.uploads).toEqual([]);
  });

  it('accepts every documented type at its size limit and extension case-insensitively', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const cases: [string, string][] = [
      ['voice', 'a.AMR'],
      ['image', 'b.bmp'],
      ['video', 'c.mp4'],
      ['file', 'd.xlsx'],
    ];
    for (const [type, name] of cases) {
      const size = type === 'voice' ? 2 * MB : 10;
      expect(await upload(target, token, type, mediaForm(name, Buffer.alloc(size), 'x/y'))).toMatchObject({
        errcode: 0,
        type,
      });
    }
    expect(target.uploads.map((u) => u.type)).toEqual(['voice', 'image', 'video', 'file']);
  });

  it('answers 40014 in an HTTP 200 to a missing or invalidated token', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const form = (): FormData => mediaForm('a.png', Buffer.from('x'), 'image/png');

    expect(await upload(target, 'nope', 'image', form())).toEqual({
      errcode: 40014,
      errmsg: '不合法的access_token',
    });
    target.invalidateAccessTokens();
    expect(await upload(target, token, 'image', form())).toMatchObject({ errcode: 40014 });
  });

  it('lets tests script upload answers with the decoded part in view', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const seen: unknown[] = [];
    target.scriptUpload((view) => {
      seen.push(view.upload);
      return view.upload?.fileName === 'slow.png' ? { status: 200, body: { errcode: 90002 } } : undefined;
    });

    expect(
      await upload(target, token, 'image', mediaForm('slow.png', Buffer.from('x'), 'image/png')),
    ).toEqual({
      errcode: 90002,
    });
    expect(
      await upload(target, token, 'image', mediaForm('ok.png', Buffer.from('y'), 'image/png')),
    ).toMatchObject({
      errcode: 0,
    });
    expect(seen).toMatchObject([{ type: 'image', fileName: 'slow.png', contentType: 'image/png' }, {}]);
    expect(target.uploads).toHaveLength(1);
  });
});

describe('FakeDingTalk messageFiles/download and signed file URLs', () => {
  it('trades a registered downloadCode for a signed URL that serves the bytes', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    target.registerDownload('code-1', Buffer.from('file body'), 'image/jpeg');

    const answer = await downloadUrl(target, token, 'code-1');
    expect(answer.status).toBe(200);
    const url = new URL((answer.json as { downloadUrl: string }).downloadUrl);
    expect(url.origin).toBe(target.baseUrl);
    expect(url.pathname).toMatch(/^\/files\/[0-9a-f]{32}$/);
    expect([...url.searchParams.keys()]).toEqual(['Expires', 'OSSAccessKeyId', 'Signature']);

    const file = await send(url.href);
    expect(file).toMatchObject({ status: 200, text: 'file body' });
    expect(file.headers['content-type']).toBe('image/jpeg');
    expect(file.headers['content-length']).toBe('9');
  });

  it('refuses unknown codes, wrong robot codes and bad tokens like the new APIs', async () => {
    const target = await startFake();
    const token = await accessToken(target);

    expect(await downloadUrl(target, token, 'unknown')).toMatchObject({
      status: 400,
      json: { code: 'invalidParameter.downloadCode' },
    });
    expect(await downloadUrl(target, 'bad-token', 'unknown')).toMatchObject({
      status: 400,
      json: { code: 'InvalidAuthentication' },
    });
    const wrongRobot = await send(`${target.baseUrl}/v1.0/robot/messageFiles/download`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': token },
      body: JSON.stringify({ downloadCode: 'x', robotCode: 'other' }),
    });
    expect(wrongRobot).toMatchObject({ status: 400, json: { code: 'invalidParameter.robotCode.invalid' } });
  });

  it('answers 403 like OSS to a Content-Type header, a tampered signature and an expired URL', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    target.registerDownload('code-1', 'bytes');
    const url = (await downloadUrl(target, token, 'code-1')).json as { downloadUrl: string };

    const withType = await send(url.downloadUrl, { headers: { 'content-type': 'application/octet-stream' } });
    expect(withType.status).toBe(403);
    expect(withType.headers['content-type']).toBe('application/xml');
    expect(withType.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    const tampered = new URL(url.downloadUrl);
    tampered.searchParams.set('Signature', 'AAAA');
    expect((await send(tampered.href)).text).toContain('<Code>SignatureDoesNotMatch</Code>');
    const unknown = new URL(url.downloadUrl);
    unknown.pathname = '/files/0123';
    expect((await send(unknown.href)).status).toBe(403);

    target.media.expireDownloadUrls();
    const expired = await send(url.downloadUrl);
    expect(expired.status).toBe(403);
    expect(expired.text).toContain('<Message>Request has expired.</Message>');
    // A new URL for the same code works again.
    const fresh = (await downloadUrl(target, token, 'code-1')).json as { downloadUrl: string };
    expect((await send(fresh.downloadUrl)).text).toBe('bytes');
  });

  it('expires URLs after downloadUrlTtlMs', async () => {
    const target = await startFake({ downloadUrlTtlMs: 0 });
    const token = await accessToken(target);
    target.registerDownload('code-1', 'bytes');
    const { downloadUrl: url } = (await downloadUrl(target, token, 'code-1')).json as { downloadUrl: string };

    expect((await send(url)).text).toContain('Request has expired.');
  });

  it('streams without Content-Length when asked, and records the bytes sent', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const bytes = Buffer.alloc(100_000, 7);
    target.registerDownload('big', bytes, { sendContentLength: false, chunkBytes: 10_000, chunkDelayMs: 1 });
    const { downloadUrl: url } = (await downloadUrl(target, token, 'big')).json as { downloadUrl: string };

    const response = await request(url);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(Buffer.from(await response.body.arrayBuffer()).equals(bytes)).toBe(true);
    const [served] = await target.waitForApiRequests(new URL(url).pathname, 1);
    expect(served?.response).toMatchObject({ status: 200, bytesSent: 100_000 });
  });

  it('lets tests script file answers: raw bodies and resets mid-body', async () => {
    const target = await startFake();
    target.media.scriptFiles((view) =>
      view.path === '/files/html'
        ? { status: 502, rawBody: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } }
        : { status: 200, rawBody: Buffer.alloc(1000), destroyAfterBytes: 100 },
    );

    expect(await send(`${target.baseUrl}/files/html`)).toMatchObject({
      status: 502,
      text: '<html>bad gateway</html>',
    });
    await expect(send(`${target.baseUrl}/files/cut`)).rejects.toThrow();
  });
});

describe('FakeDingTalk proactive media messages', () => {
  async function sendMedia(
    target: FakeDingTalk,
    token: string,
    msgKey: string,
    msgParam: unknown,
  ): Promise<Answer> {
    return send(`${target.baseUrl}/v1.0/robot/groupMessages/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-acs-dingtalk-access-token': token },
      body: JSON.stringify({
        robotCode: target.options.clientId,
        openConversationId: 'cidX==',
        msgKey,
        msgParam: JSON.stringify(msgParam),
      }),
    });
  }

  it('accepts media msgKeys whose ids the fake issued, of the right type', async () => {
    const target = await startFake();
    const token = await accessToken(target);
    const id = async (type: string, name: string): Promise<string> =>
      (await upload(target, token, type, mediaForm(name, Buffer.from('x'), 'x/y')))['media_id'] as string;
    const image = await id('image', 'a.png');
    const voice = await id('voice', 'a.amr');
    const video = await id('video', 'a.mp4');
    const file = await id('file', 'a.pdf');

    const accepted: [string, unknown][] = [
      ['sampleImageMsg', { photoURL: image }],
      ['sampleImageMsg', { photoURL: 'https://example.com/a.png' }],
      ['sampleFile', { mediaId: file, fileName: 'a.pdf', fileType: 'pdf' }],
      ['sampleAudio', { mediaId: voice, duration: '3000' }],
      ['sampleVideo', { duration: '10', videoMediaId: video, videoType: 'mp4', picMediaId: image }],
      ['sampleVideo', { duration: 10, videoMediaId: video, videoType: 'mp4' }],
      ['sampleText', { content: 'unchanged' }],
    ];
    for (const [msgKey, msgParam] of accepted)
      expect((await sendMedia(target, token, msgKey, msgParam)).status).toBe(200);

    const refused: [string, unknown, string][] = [
      ['sampleImageMsg', { photoURL: '@lADOnotIssued' }, 'photoURL'],
      ['sampleImageMsg', { photoURL: voice }, 'photoURL is a voice'],
      ['sampleFile', { mediaId: file, fileName: 'a.pdf' }, 'fileType'],
      ['sampleAudio', { mediaId: image, duration: '3000' }, 'mediaId is a image'],
      ['sampleAudio', { mediaId: voice, duration: '3s' }, 'duration'],
      [
        'sampleVideo',
        { duration: '10', videoMediaId: video, videoType: 'mp4', picMediaId: video },
        'picMediaId',
      ],
    ];
    for (const [msgKey, msgParam, problem] of refused) {
      const answer = await sendMedia(target, token, msgKey, msgParam);
      expect(answer).toMatchObject({ status: 400, json: { code: 'invalidParameter' } });
      expect((answer.json as { message: string }).message).toContain(problem);
    }
    expect(target.robotMessages.map((m) => m.msgKey)).toEqual(accepted.map(([key]) => key));
  });
});

describe('bot message factory: media and quoted messages', () => {
  it('builds picture, richText, file, audio and video payloads without a text member', () => {
    const shapes = [
      picture('dl-1'),
      richText(['看图：', { type: 'picture', downloadCode: 'dl-2' }, { text: '完' }]),
      fileMessage('dl-3', 'report.pdf'),
      audioMessage('钉钉，让进步发生', 'dl-4'),
      videoMessage('dl-5', { durationSeconds: 12 }),
    ];
    expect(shapes.map((m) => [m.msgtype, m.text, m.content])).toEqual([
      ['picture', undefined, { pictureDownloadCode: pictureDownloadCodeOf('dl-1'), downloadCode: 'dl-1' }],
      [
        'richText',
        undefined,
        {
          richText: [
            { text: '看图：' },
            { type: 'picture', downloadCode: 'dl-2', pictureDownloadCode: pictureDownloadCodeOf('dl-2') },
            { text: '完' },
          ],
        },
      ],
      [
        'file',
        undefined,
        {
          spaceId: expect.any(String) as unknown,
          fileName: 'report.pdf',
          downloadCode: 'dl-3',
          fileId: expect.stringMatching(/^\d+$/) as unknown,
        },
      ],
      ['audio', undefined, { downloadCode: 'dl-4', recognition: '钉钉，让进步发生' }],
      ['video', undefined, { duration: '12', videoType: 'mp4', downloadCode: 'dl-5' }],
    ]);
    expect(Object.keys(shapes[0] ?? {})).not.toContain('text');
  });

  it('builds quoted text messages with the quote as an object or a JSON string', () => {
    const asObject = quotedText(
      '看这个文件',
      repliedMessage('file', { fileName: 'a.pdf', downloadCode: 'dl' }),
    );
    const asString = quotedText(
      '这张图',
      repliedMessage('picture', { downloadCode: 'dl' }, { asJsonString: true }),
    );

    expect(asObject).toMatchObject({
      msgtype: 'text',
      text: {
        content: '看这个文件',
        isReplyMsg: true,
        repliedMsg: { msgType: 'file', content: { fileName: 'a.pdf', downloadCode: 'dl' } },
      },
    });
    expect(asObject.text?.repliedMsg).toMatchObject({
      msgId: expect.stringMatching(/^msg/) as unknown,
      senderId: expect.stringMatching(/^\$:LWCP_v1:\$/) as unknown,
      createdAt: expect.any(Number) as unknown,
    });
    expect(asString.text?.repliedMsg).toMatchObject({ msgType: 'picture', content: '{"downloadCode":"dl"}' });
  });
});
