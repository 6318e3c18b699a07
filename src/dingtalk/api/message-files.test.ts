import { inspect } from 'node:util';

import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FakeDingTalk, type ScriptedResponse } from '../../../test/fakes/fake-dingtalk.js';
import { type DingTalkApiHarness, startDingTalkApi } from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError } from '../../errors.js';
import type { AccessTokenCache } from './access-token.js';
import type { DingTalkHttp } from './http-client.js';
import {
  downloadFile,
  downloadHostsFor,
  isAllowedDownloadHost,
  MediaDownloadError,
  MESSAGE_FILES_DOWNLOAD_ENDPOINT,
  resolveDownloadUrl,
  type DownloadFileOptions,
} from './message-files.js';

const RESOLVE_PATH = '/v1.0/robot/messageFiles/download';
const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const LIMITS: DownloadFileOptions = { maxBytes: 1_000_000, timeoutMs: 5_000, retryDelayMs: 1 };

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let http: DingTalkHttp;
let tokens: AccessTokenCache;

beforeEach(async () => {
  api = await startDingTalkApi();
  ({ fake, http, tokens } = api);
});

afterEach(() => api.close());

function resolve(downloadCode: string, signal?: AbortSignal): Promise<string> {
  return resolveDownloadUrl({
    http,
    apiBase: fake.baseUrl,
    robotCode: fake.options.clientId,
    tokens,
    downloadCode,
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Registers `bytes` under a fresh code and resolves its signed URL. */
async function signedUrl(
  bytes: Buffer | string,
  serve?: Parameters<FakeDingTalk['registerDownload']>[2],
): Promise<string> {
  const code = `code-${fake.apiRequests.length}-${Math.random()}`;
  fake.registerDownload(code, bytes, serve);
  return resolve(code);
}

function fileRequests(): FakeDingTalk['apiRequests'] {
  return fake.apiRequests.filter((r) => r.path.startsWith('/files/'));
}

/** The MediaDownloadError `promise` rejects with, after checking no signed query leaked into it. */
async function downloadFailure(promise: Promise<unknown>): Promise<MediaDownloadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MediaDownloadError);
    const text = `${String(error)} ${inspect(error, { depth: 6 })}`;
    for (const secret of ['Signature=', 'Expires=', 'OSSAccessKeyId', 'secret-query']) {
      expect(text).not.toContain(secret);
    }
    return error as MediaDownloadError;
  }
  throw new Error('expected a rejection');
}

describe('resolveDownloadUrl', () => {
  it('posts downloadCode and robotCode with the header token and returns the signed URL', async () => {
    fake.registerDownload('dl-1', 'abc');

    const url = await resolve('dl-1');

    expect(url).toMatch(
      new RegExp(`^${fake.baseUrl}/files/\\w+\\?Expires=\\d+&OSSAccessKeyId=.+&Signature=`),
    );
    const [request] = await fake.waitForApiRequests(RESOLVE_PATH, 1);
    expect(request?.body).toEqual({ downloadCode: 'dl-1', robotCode: fake.options.clientId });
    expect(request?.headers['x-acs-dingtalk-access-token']).toBe(fake.issuedAccessTokens[0]);
    expect(request?.headers['content-type']).toBe('application/json');
  });

  it('refuses an unknown code as a non-retryable DingTalkApiError', async () => {
    await expect(resolve('nope')).rejects.toMatchObject({
      name: 'DingTalkApiError',
      endpoint: MESSAGE_FILES_DOWNLOAD_ENDPOINT,
      status: 400,
      apiCode: 'invalidParameter.downloadCode',
      retryable: false,
    });
  });

  it('refreshes an invalidated token once', async () => {
    fake.registerDownload('dl-1', 'abc');
    await resolve('dl-1');
    fake.invalidateAccessTokens();

    await resolve('dl-1');

    expect(fake.apiRequests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(2);
    expect(fake.apiRequests.filter((r) => r.path === RESOLVE_PATH)).toHaveLength(3);
  });

  it.each<[string, unknown]>([
    ['no downloadUrl', {}],
    ['a non-http URL', { downloadUrl: 'file:///etc/passwd' }],
    ['an unparsable URL', { downloadUrl: 'not a url' }],
  ])('refuses an answer with %s', async (_name, body) => {
    fake.scriptApi(RESOLVE_PATH, () => ({ status: 200, body }));

    const error = await resolve('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({
      message: expect.stringContaining('no usable downloadUrl') as unknown,
      bodySnippet: '',
    });
  });
});

describe('download hosts', () => {
  it.each([
    ['bucket.oss-cn-hangzhou.aliyuncs.com', true],
    ['a.b.aliyuncs.com.', true],
    ['BUCKET.OSS.ALIYUNCS.COM', true],
    ['aliyuncs.com', false],
    ['evilaliyuncs.com', false],
    ['aliyuncs.com.evil.test', false],
    ['static.dingtalk.com', true],
    ['api.dingtalk.com', true],
    ['127.0.0.1', true],
    ['localhost', false],
    ['169.254.169.254', false],
  ])('%s allowed: %s', (host, expected) => {
    const patterns = downloadHostsFor(
      ['*.aliyuncs.com', '*.dingtalk.com', '*.dingtalkapps.com'],
      ['https://api.dingtalk.com', 'http://127.0.0.1:8080'],
    );
    expect(isAllowedDownloadHost(host, patterns)).toBe(expected);
  });

  it('refuses a downloadUrl on another host before requesting it, without leaking its signature', async () => {
    fake.registerDownload('elsewhere', 'bytes');
    fake.scriptApi(RESOLVE_PATH, () => ({
      status: 200,
      body: { downloadUrl: 'http://localhost:1/files/x?Expires=1&Signature=secret-query' },
    }));
    const error = await downloadFailure(resolve('elsewhere'));
    expect(error).toMatchObject({
      reason: 'host-refused',
      retryable: false,
      code: 'GW_DINGTALK_URL_REFUSED',
      target: 'http://localhost:1/files/x',
    });
    expect(error.message).toContain('host localhost is not an allowed download host');
  });

  it('accepts the apiBase host by default and configured patterns when given', async () => {
    fake.registerDownload('here', 'bytes');
    await expect(resolve('here')).resolves.toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
    const refused = resolveDownloadUrl({
      http,
      apiBase: fake.baseUrl,
      robotCode: fake.options.clientId,
      tokens,
      downloadCode: 'here',
      allowedHosts: ['*.aliyuncs.com'],
    });
    await expect(refused).rejects.toMatchObject({ reason: 'host-refused' });
  });

  it('checks the URL and every redirect of a download against allowedHosts', async () => {
    const allowedHosts = downloadHostsFor([], [fake.baseUrl]);
    await expect(
      downloadFile('http://localhost:1/files/x?Signature=secret-query', { ...LIMITS, allowedHosts }),
    ).rejects.toMatchObject({ reason: 'host-refused' });
    fake.scriptApi('/hop', () => ({ status: 302, headers: { location: 'http://localhost:1/x' } }));
    await expect(downloadFile(`${fake.baseUrl}/hop`, { ...LIMITS, allowedHosts })).rejects.toMatchObject({
      reason: 'host-refused',
      target: 'http://localhost:1/x',
    });
    expect(fileRequests()).toHaveLength(0);
  });
});

describe('downloadFile', () => {
  it('returns the bytes and content type, sending no Content-Type (or any other) request header', async () => {
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const url = await signedUrl(bytes, 'image/png');

    const file = await downloadFile(url, LIMITS);

    expect(file.bytes.equals(bytes)).toBe(true);
    expect(file.contentType).toBe('image/png');
    const [request] = fileRequests();
    expect(request?.headers['content-type']).toBeUndefined();
    expect(Object.keys(request?.headers ?? {}).sort()).toEqual(['connection', 'host']);
    expect(request?.response.status).toBe(200);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const url = await signedUrl(Buffer.alloc(1000, 1), { sendContentLength: false });

    expect((await downloadFile(url, { ...LIMITS, maxBytes: 1000 })).bytes).toHaveLength(1000);
  });

  it('refuses a Content-Length above maxBytes before reading the body', async () => {
    const url = await signedUrl(Buffer.alloc(500_000), { chunkBytes: 10_000, chunkDelayMs: 20 });

    const error = await downloadFailure(downloadFile(url, { ...LIMITS, maxBytes: 100_000 }));

    expect(error).toMatchObject({ reason: 'too-large', retryable: false, code: 'GW_DINGTALK_API' });
    expect(error.message).toContain('Content-Length 500000 exceeds 100000 bytes');
    const [served] = await fake.waitForApiRequests(new URL(url).pathname, 1);
    expect(served?.response.bytesSent).toBeLessThan(500_000);
  });

  it('aborts mid-stream as soon as a body without Content-Length exceeds maxBytes', async () => {
    const total = 1_000_000;
    const url = await signedUrl(Buffer.alloc(total), {
      sendContentLength: false,
      chunkBytes: 16_384,
      chunkDelayMs: 5,
    });

    const error = await downloadFailure(downloadFile(url, { ...LIMITS, maxBytes: 100_000 }));

    expect(error).toMatchObject({ reason: 'too-large', retryable: false });
    expect(error.message).toContain('the body exceeds 100000 bytes');
    const [served] = await fake.waitForApiRequests(new URL(url).pathname, 1);
    // The fake stops writing once the client has gone: well before the whole body.
    expect(served?.response.bytesSent).toBeLessThan(total / 2);
    expect(fileRequests()).toHaveLength(1);
  });

  it('reports an expired URL as a final 403 with the OSS code, without retrying', async () => {
    const url = await signedUrl('bytes');
    fake.media.expireDownloadUrls();

    const error = await downloadFailure(downloadFile(url, LIMITS));

    expect(error).toMatchObject({
      reason: 'http-status',
      status: 403,
      apiCode: 'AccessDenied',
      retryable: false,
    });
    expect(error.target).toBe(url.slice(0, url.indexOf('?')));
    expect(fileRequests()).toHaveLength(1);
  });

  it('reports a tampered signature without echoing what OSS echoes back', async () => {
    const url = new URL(await signedUrl('bytes'));
    url.searchParams.set('Signature', 'secret-query');

    const error = await downloadFailure(downloadFile(url.href, LIMITS));

    expect(error).toMatchObject({ status: 403, apiCode: 'SignatureDoesNotMatch' });
  });

  it('retries 502s and resets (before and during the body) and then succeeds', async () => {
    const url = await signedUrl('the file');
    const faults: ScriptedResponse[] = [
      { status: 502, rawBody: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } },
      { destroySocket: true },
      { status: 200, rawBody: Buffer.alloc(100), destroyAfterBytes: 10, chunkBytes: 5 },
    ];
    fake.media.scriptFiles(() => faults.shift());

    const file = await downloadFile(url, LIMITS);

    expect(file.bytes.toString()).toBe('the file');
    expect(fileRequests().map((r) => r.response.status)).toEqual([502, 0, 200, 200]);
  });

  it('gives up after maxRetries with a retryable error', async () => {
    const url = await signedUrl('x');
    fake.media.scriptFiles(() => ({ status: 503, rawBody: 'busy' }));

    const error = await downloadFailure(downloadFile(url, LIMITS));

    expect(error).toMatchObject({ reason: 'http-status', status: 503, retryable: true });
    expect(fileRequests()).toHaveLength(4);
  });

  it('backs off between retries, doubling the pause', async () => {
    const url = await signedUrl('x');
    fake.media.scriptFiles(() => ({ status: 500, rawBody: 'x' }));

    await downloadFailure(downloadFile(url, { ...LIMITS, retryDelayMs: 40, maxRetries: 2 }));

    const times = fileRequests().map((r) => r.atMs);
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(75);
  });

  it('follows up to three redirects, relative ones included', async () => {
    const url = await signedUrl('moved');
    fake.scriptApi('/r1', () => ({ status: 302, headers: { location: '/r2' } }));
    fake.scriptApi('/r2', () => ({ status: 301, headers: { location: `${fake.baseUrl}/r3` } }));
    fake.scriptApi('/r3', () => ({ status: 307, headers: { location: url } }));

    expect((await downloadFile(`${fake.baseUrl}/r1`, LIMITS)).bytes.toString()).toBe('moved');

    fake.scriptApi('/r0', () => ({ status: 302, headers: { location: '/r1' } }));
    const error = await downloadFailure(downloadFile(`${fake.baseUrl}/r0?secret-query=1`, LIMITS));
    expect(error).toMatchObject({ reason: 'redirect-refused', retryable: false });
    expect(error.message).toContain('more than 3 redirects');
  });

  it('refuses redirects to other protocols and from https to http', async () => {
    fake.scriptApi('/ftp', () => ({ status: 302, headers: { location: 'ftp://example.com/file' } }));
    await expect(downloadFile(`${fake.baseUrl}/ftp`, LIMITS)).rejects.toMatchObject({
      reason: 'redirect-refused',
    });

    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('https://oss.example.com')
      .intercept({ path: '/object?Signature=secret-query' })
      .reply(302, '', { headers: { location: 'http://oss.example.com/object' } });
    const error = await downloadFailure(
      downloadFile('https://oss.example.com/object?Signature=secret-query', { ...LIMITS, dispatcher: agent }),
    );
    expect(error).toMatchObject({ reason: 'redirect-refused', target: 'https://oss.example.com/object' });
    expect(error.message).toContain('redirect to http: refused');
    await agent.close();
  });

  it.each(['not a url', 'ftp://example.com/x', 'file:///etc/passwd'])('refuses %s', async (url) => {
    await expect(downloadFile(url, LIMITS)).rejects.toMatchObject({ reason: 'bad-url', retryable: false });
  });

  it('times out a slow download as a whole', async () => {
    const url = await signedUrl(Buffer.alloc(100_000), { chunkBytes: 1_000, chunkDelayMs: 20 });

    const error = await downloadFailure(downloadFile(url, { ...LIMITS, timeoutMs: 100 }));

    expect(error).toMatchObject({ reason: 'timeout', retryable: true, code: 'GW_DINGTALK_TRANSPORT' });
    // The fake records a request once its answer is over: here when the client hung up.
    expect(await fake.waitForApiRequests(new URL(url).pathname, 1)).toHaveLength(1);
    expect(fileRequests()).toHaveLength(1);
  });

  it('stops at once when the caller aborts', async () => {
    const url = await signedUrl(Buffer.alloc(100_000), { chunkBytes: 1_000, chunkDelayMs: 20 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const error = await downloadFailure(downloadFile(url, { ...LIMITS, signal: controller.signal }));

    expect(error).toMatchObject({ reason: 'aborted', retryable: false });
  });

  it('reports a refused connection as transport after retrying', async () => {
    const closed = await FakeDingTalk.start();
    const deadUrl = `${closed.baseUrl}/files/x?Signature=secret-query`;
    await closed.close();

    const error = await downloadFailure(downloadFile(deadUrl, LIMITS));

    expect(error).toMatchObject({ reason: 'transport', retryable: true, code: 'GW_DINGTALK_TRANSPORT' });
    expect(error.message).toContain('ECONNREFUSED');
  });
});
