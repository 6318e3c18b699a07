import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FakeDingTalk } from '../../../test/fakes/fake-dingtalk.js';
import { rejectionOf } from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import {
  ACCESS_TOKEN_ENDPOINT,
  AccessTokenCache,
  isInvalidTokenError,
  withAccessToken,
  type AccessTokenOptions,
} from './access-token.js';
import { DingTalkHttp, interpretAnswer } from './http-client.js';

const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const SEND_PATH = '/v1.0/robot/groupMessages/send';

let fake: FakeDingTalk;
let http: DingTalkHttp;

beforeEach(async () => {
  fake = await FakeDingTalk.start();
  http = new DingTalkHttp({ connectTimeoutMs: 2_000, requestTimeoutMs: 2_000 });
});

afterEach(async () => {
  await http.close();
  await fake.close();
});

function newCache(overrides: Partial<AccessTokenOptions> = {}): AccessTokenCache {
  return new AccessTokenCache({
    http,
    apiBase: fake.baseUrl,
    appKey: fake.options.clientId,
    appSecret: fake.options.clientSecret,
    ...overrides,
  });
}

function tokenRequests(): number {
  return fake.apiRequests.filter((r) => r.path === TOKEN_PATH).length;
}

/** Posts a minimal group message with `token`, the way a real caller of withAccessToken would. */
function sendWith(token: string): Promise<unknown> {
  const body = {
    robotCode: fake.options.clientId,
    openConversationId: 'cid-1',
    msgKey: 'sampleText',
    msgParam: '{"content":"hi"}',
  };
  return http.postJson(`${fake.baseUrl}${SEND_PATH}`, body, {
    endpoint: 'robot/groupMessages/send',
    headers: { 'x-acs-dingtalk-access-token': token },
  });
}

describe('AccessTokenCache', () => {
  it('sends the credentials only in the JSON body and returns the issued token', async () => {
    const token = await newCache().get();

    expect(fake.issuedAccessTokens).toEqual([token]);
    const [request] = fake.apiRequests;
    expect(request).toMatchObject({ method: 'POST', path: TOKEN_PATH, query: {} });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({ appKey: fake.options.clientId, appSecret: fake.options.clientSecret });
  });

  it('reuses a cached token', async () => {
    const cache = newCache();
    const tokens = [await cache.get(), await cache.get(), await cache.get(), await cache.get()];

    expect(new Set(tokens).size).toBe(1);
    expect(tokenRequests()).toBe(1);
  });

  it('shares one request between concurrent callers', async () => {
    const cache = newCache();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => cache.get()));

    expect(new Set(tokens)).toEqual(new Set(fake.issuedAccessTokens));
    expect(tokenRequests()).toBe(1);
  });

  it('refreshes once the refresh margin before expiry is reached', async () => {
    let nowMs = 1_000_000;
    const cache = newCache({ now: () => nowMs, refreshMarginMs: 300_000 });
    const first = await cache.get();

    nowMs += 7_200_000 - 300_000 - 1;
    expect(await cache.get()).toBe(first);
    expect(tokenRequests()).toBe(1);

    nowMs += 1;
    const second = await cache.get();
    expect(second).not.toBe(first);
    expect(tokenRequests()).toBe(2);
  });

  it('uses the default margin of 5 minutes', async () => {
    let nowMs = 0;
    const cache = newCache({ now: () => nowMs });
    await cache.get();

    nowMs = 6_899_999;
    await cache.get();
    expect(tokenRequests()).toBe(1);
    nowMs = 6_900_000;
    await cache.get();
    expect(tokenRequests()).toBe(2);
  });

  it('caps the margin at half the lifetime of a short-lived token', async () => {
    await fake.close();
    fake = await FakeDingTalk.start({ accessTokenTtlSeconds: 60 });
    let nowMs = 0;
    const cache = newCache({ now: () => nowMs });
    await cache.get();

    nowMs = 29_999;
    await cache.get();
    expect(tokenRequests()).toBe(1);
    nowMs = 30_000;
    await cache.get();
    expect(tokenRequests()).toBe(2);
  });

  it('does not remember a failed refresh', async () => {
    fake.scriptApi(TOKEN_PATH, () => ({ status: 503, body: { code: 'ServiceUnavailable' } }));
    const cache = newCache();
    const results = await Promise.allSettled([cache.get(), cache.get(), cache.get()]);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(tokenRequests()).toBe(1);
    const error = await rejectionOf(cache.get());
    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({ status: 503, retryable: true, endpoint: ACCESS_TOKEN_ENDPOINT });
    expect(tokenRequests()).toBe(2);

    fake.scriptApi(TOKEN_PATH, undefined);
    expect(fake.issuedAccessTokens).toContain(await cache.get());
    expect(tokenRequests()).toBe(3);
  });

  it('refuses an answer without a token as retryable, without echoing the body', async () => {
    fake.scriptApi(TOKEN_PATH, () => ({ status: 200, body: { accessToken: 'leaky-token-value' } }));
    const error = await rejectionOf(newCache().get());

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({ retryable: true, bodySnippet: '' });
    expect((error as Error).message).not.toContain('leaky-token-value');
  });

  it('reports bad credentials as a non-retryable error without the secret', async () => {
    const secret = 'wrong-secret-do-not-leak';
    const error = await rejectionOf(newCache({ appSecret: secret }).get());

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({ status: 400, apiCode: 'invalidClientIdOrSecret', retryable: false });
    expect((error as DingTalkApiError).message).not.toContain(secret);
    expect((error as DingTalkApiError).bodySnippet).not.toContain(secret);
  });

  it('reports a 401 from the token endpoint as non-retryable', async () => {
    fake.scriptApi(TOKEN_PATH, () => ({ status: 401, body: { code: 'Unauthorized', message: 'no' } }));
    const error = await rejectionOf(newCache().get());

    expect(error).toMatchObject({ status: 401, retryable: false });
    expect(isInvalidTokenError(error)).toBe(false);
  });

  it('invalidate() forgets the cached token only when it is still current', async () => {
    const cache = newCache();
    const first = await cache.get();

    cache.invalidate('some-other-token');
    expect(await cache.get()).toBe(first);
    expect(tokenRequests()).toBe(1);

    cache.invalidate(first);
    const second = await cache.get();
    expect(second).not.toBe(first);
    cache.invalidate(first);
    expect(await cache.get()).toBe(second);
    expect(tokenRequests()).toBe(2);
  });

  it('lets one caller give up without cancelling the shared request', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    fake.scriptApi(TOKEN_PATH, async () => {
      await gate;
      return undefined;
    });
    const cache = newCache();
    const controller = new AbortController();
    const impatient = rejectionOf(cache.get(controller.signal));
    const patient = cache.get();

    controller.abort();
    expect(await impatient).toBeInstanceOf(DingTalkTransportError);
    release();
    expect(fake.issuedAccessTokens).toEqual([await patient]);
    expect(tokenRequests()).toBe(1);
  });

  it('rejects at once for an already aborted signal', async () => {
    const error = await rejectionOf(newCache().get(AbortSignal.abort()));

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect(error).toMatchObject({ retryable: true, endpoint: ACCESS_TOKEN_ENDPOINT });
  });
});

describe('isInvalidTokenError', () => {
  it.each([
    ['400 InvalidAuthentication', 400, '{"code":"InvalidAuthentication","message":"bad token"}', true],
    ['400 invalidauthentication (lower case)', 400, '{"code":"invalidauthentication"}', true],
    ['403 InvalidAuthentication', 403, '{"code":"InvalidAuthentication"}', true],
    ['401 without a body', 401, '', true],
    ['401 with any code', 401, '{"code":"Unauthorized"}', true],
    ['errcode 40014 in a 200', 200, '{"errcode":40014,"errmsg":"invalid access_token"}', true],
    ['errcode 88 in a 200', 200, '{"errcode":88,"errmsg":"no auth"}', true],
    ['errcode 42001 in a 200', 200, '{"errcode":42001,"errmsg":"token expired"}', true],
    [
      '403 Forbidden.AccessDenied',
      403,
      '{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied"}',
      false,
    ],
    ['400 invalidParameter', 400, '{"code":"invalidParameter.userIds.invalid"}', false],
    ['500', 500, '{"code":"InvalidAuthentication"}', false],
    ['500 without a body', 500, '', false],
    ['errcode 300001 in a 200', 200, '{"errcode":300001,"errmsg":"session expired"}', false],
  ])('%s → %s', (_name, status, body, expected) => {
    let error: unknown;
    try {
      interpretAnswer('robot/groupMessages/send', status, body);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(isInvalidTokenError(error)).toBe(expected);
  });

  it.each([
    ['a transport error', new DingTalkTransportError('robot/groupMessages/send', new Error('ECONNRESET'))],
    ['a plain Error', new Error('InvalidAuthentication')],
    ['a non-error value', { status: 401 }],
    ['undefined', undefined],
  ])('is false for %s', (_name, error) => {
    expect(isInvalidTokenError(error)).toBe(false);
  });
});

describe('withAccessToken', () => {
  it('refreshes once and succeeds after the fake invalidated every token', async () => {
    const cache = newCache();
    const stale = await cache.get();
    fake.invalidateAccessTokens();
    const used: string[] = [];

    await withAccessToken(cache, (token) => {
      used.push(token);
      return sendWith(token);
    });

    expect(used).toHaveLength(2);
    expect(used[0]).toBe(stale);
    expect(used[1]).not.toBe(stale);
    expect(tokenRequests()).toBe(2);
    expect(fake.robotMessages).toHaveLength(1);
  });

  it('also refreshes on HTTP 401', async () => {
    await fake.close();
    fake = await FakeDingTalk.start({ invalidTokenStatus: 401 });
    const cache = newCache();
    await cache.get();
    fake.invalidateAccessTokens();

    await withAccessToken(cache, sendWith);

    expect(tokenRequests()).toBe(2);
    expect(fake.robotMessages).toHaveLength(1);
  });

  it('throws after exactly one retry when the token stays invalid', async () => {
    fake.scriptApi(SEND_PATH, () => ({ status: 400, body: { code: 'InvalidAuthentication', message: 'x' } }));
    const cache = newCache();
    const error = await rejectionOf(withAccessToken(cache, sendWith));

    expect(isInvalidTokenError(error)).toBe(true);
    expect(fake.apiRequests.filter((r) => r.path === SEND_PATH)).toHaveLength(2);
    expect(tokenRequests()).toBe(2);
    const message = (error as Error).message;
    for (const token of fake.issuedAccessTokens) expect(message).not.toContain(token);
    expect(message).not.toContain(fake.options.clientSecret);
  });

  it('does not retry other failures', async () => {
    fake.scriptApi(SEND_PATH, () => ({ status: 503, body: { code: 'ServiceUnavailable' } }));
    const error = await rejectionOf(withAccessToken(newCache(), sendWith));

    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(fake.apiRequests.filter((r) => r.path === SEND_PATH)).toHaveLength(1);
    expect(tokenRequests()).toBe(1);
  });

  it('returns what fn returns and reuses the cached token', async () => {
    const cache = newCache();

    const result = await withAccessToken(cache, (token) => Promise.resolve({ token }));
    expect(result).toEqual({ token: fake.issuedAccessTokens[0] });
    await withAccessToken(cache, sendWith);
    expect(tokenRequests()).toBe(1);
  });
});
