import { DingTalkApiError } from '../../errors.js';
import { type AccessTokenCache, withAccessToken } from './access-token.js';
import type { DingTalkHttp, JsonMethod } from './http-client.js';

/** What a call to DingTalk's new-style OpenAPI (`api.dingtalk.com`) needs. */
export interface OpenApiContext {
  readonly http: DingTalkHttp;
  /** New-style API origin without a trailing slash. */
  readonly apiBase: string;
  readonly tokens: AccessTokenCache;
  /** Chained into the token fetch and the request; aborting rejects with `DingTalkTransportError`. */
  readonly signal?: AbortSignal | undefined;
}

/** One OpenAPI operation: HTTP method, path under `apiBase`, and its secret-free endpoint name. */
export interface OpenApiOperation {
  readonly method: JsonMethod;
  readonly path: string;
  readonly endpoint: string;
}

/**
 * Calls an OpenAPI operation with the app's access token in `x-acs-dingtalk-access-token`; an
 * answer saying the token is invalid refreshes it once and calls again ({@link withAccessToken}).
 */
export function callOpenApi(
  context: OpenApiContext,
  operation: OpenApiOperation,
  body: unknown,
): Promise<unknown> {
  const { http, apiBase, tokens, signal } = context;
  return withAccessToken(
    tokens,
    (token) =>
      http.requestJson(operation.method, `${apiBase}${operation.path}`, body, {
        endpoint: operation.endpoint,
        headers: { 'x-acs-dingtalk-access-token': token },
        ...(signal === undefined ? {} : { signal }),
      }),
    signal,
  );
}

/** The answer's fields (`{}` when it is not an object). */
export function answerFields(answer: unknown): Record<string, unknown> {
  return typeof answer === 'object' && answer !== null && !Array.isArray(answer)
    ? (answer as Record<string, unknown>)
    : {};
}

/** The answer's fields; a 200 that says `success: false` is a refusal all the same. */
export function checkSuccess(endpoint: string, answer: unknown): Record<string, unknown> {
  const fields = answerFields(answer);
  if (fields['success'] === false) {
    const message = fields['message'] ?? fields['errorMsg'];
    const code = fields['code'];
    throw new DingTalkApiError({
      endpoint,
      status: 200,
      apiCode: typeof code === 'string' ? code : undefined,
      apiMessage: typeof message === 'string' ? message : 'answer says success: false',
      body: JSON.stringify(answer),
      retryable: false,
    });
  }
  return fields;
}
