import { request } from 'undici';

import { AccessTokenCache } from '../../src/dingtalk/api/access-token.js';
import { DingTalkHttp } from '../../src/dingtalk/api/http-client.js';
import { FakeDingTalk, type FakeDingTalkOptions } from '../fakes/fake-dingtalk.js';

/** A fake DingTalk with the gateway's HTTP client and token cache pointed at it, for API tests. */
export interface DingTalkApiHarness {
  readonly fake: FakeDingTalk;
  readonly http: DingTalkHttp;
  readonly tokens: AccessTokenCache;
  /** `<endpoint> <status>` of every call the client made, in order. */
  readonly calls: string[];
  /** How many requests the fake received on `path`. */
  requestsTo(path: string): number;
  close(): Promise<void>;
}

/**
 * Starts a fake DingTalk (with `options`) and a {@link DingTalkHttp} (2 s deadlines, every call
 * recorded in `calls` and passed to `onCall`) with an {@link AccessTokenCache} for the fake's app.
 */
export async function startDingTalkApi(
  options: FakeDingTalkOptions = {},
  onCall?: (endpoint: string, status: string) => void,
): Promise<DingTalkApiHarness> {
  const fake = await FakeDingTalk.start(options);
  const calls: string[] = [];
  const http = new DingTalkHttp({
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    onCall: (endpoint, status) => {
      calls.push(`${endpoint} ${status}`);
      onCall?.(endpoint, status);
    },
  });
  const tokens = new AccessTokenCache({
    http,
    apiBase: fake.baseUrl,
    appKey: fake.options.clientId,
    appSecret: fake.options.clientSecret,
  });
  return {
    fake,
    http,
    tokens,
    calls,
    requestsTo: (path) => fake.apiRequests.filter((request) => request.path === path).length,
    close: async () => {
      await http.close();
      await fake.close();
    },
  };
}

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A raw answer of the fake: HTTP status and JSON body. */
export interface RawAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One raw JSON call to the fake; `route` is `METHOD /path`; a string body is sent as it is. */
export async function callFake(
  target: FakeDingTalk,
  route: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const [method, path] = route.split(' ') as [string, string];
  const response = await request(`${target.baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

/** An access token the fake issues for its own app (`POST /v1.0/oauth2/accessToken`). */
export async function fakeAccessToken(target: FakeDingTalk): Promise<string> {
  const answer = await callFake(target, 'POST /v1.0/oauth2/accessToken', {
    appKey: target.options.clientId,
    appSecret: target.options.clientSecret,
  });
  return answer.body['accessToken'] as string;
}
