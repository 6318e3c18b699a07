import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DingTalkApiError, DingTalkTransportError, MAX_BODY_SNIPPET_CHARS } from '../../errors.js';
import { DingTalkHttp, interpretAnswer, isRetryableAnswer } from './http-client.js';

/** Runs interpretAnswer and returns the DingTalkApiError it must throw. */
function apiError(status: number, text: string, endpoint = 'connections/open'): DingTalkApiError {
  try {
    interpretAnswer(endpoint, status, text);
  } catch (error) {
    expect(error).toBeInstanceOf(DingTalkApiError);
    return error as DingTalkApiError;
  }
  throw new Error(`expected HTTP ${status} ${JSON.stringify(text)} to throw`);
}

describe('interpretAnswer', () => {
  it.each([
    ['a JSON object', 200, '{"endpoint":"wss://x","ticket":"t"}', { endpoint: 'wss://x', ticket: 't' }],
    ['errcode 0 (oapi success)', 200, '{"errcode":0,"errmsg":"ok"}', { errcode: 0, errmsg: 'ok' }],
    ['errcode "0"', 200, '{"errcode":"0","errmsg":"ok"}', { errcode: '0', errmsg: 'ok' }],
    ['a 201', 201, '{"a":1}', { a: 1 }],
    ['an empty body', 200, '', undefined],
    ['a blank body', 204, '  \n', undefined],
    ['a JSON array', 200, '[1,2]', [1, 2]],
    ['JSON null', 200, 'null', null],
  ])('returns %s', (_name, status, text, expected) => {
    expect(interpretAnswer('x', status, text)).toEqual(expected);
  });

  it('maps a new-style error body', () => {
    const body = '{"code":"InvalidAuthentication","message":"credential invalid","requestid":"REQ-1"}';
    const error = apiError(401, body);
    expect(error).toMatchObject({
      code: 'GW_DINGTALK_API',
      status: 401,
      apiCode: 'InvalidAuthentication',
      requestId: 'REQ-1',
      endpoint: 'connections/open',
      bodySnippet: body,
      retryable: false,
    });
    expect(error.message).toBe(
      'DingTalk connections/open failed: HTTP 401 code=InvalidAuthentication (credential invalid)',
    );
  });

  it.each([
    ['requestId', '{"code":"X","requestId":"R-2"}', 'R-2'],
    ['request_id', '{"code":"X","request_id":"R-3"}', 'R-3'],
    ['a numeric requestid', '{"code":"X","requestid":12}', '12'],
  ])('reads the request id from %s', (_name, body, requestId) => {
    expect(apiError(400, body).requestId).toBe(requestId);
  });

  it('maps an oapi errcode inside a 200', () => {
    const body = '{"errcode":300001,"errmsg":"session expired"}';
    const error = apiError(200, body, 'session-webhook');
    expect(error).toMatchObject({
      status: 200,
      apiCode: '300001',
      endpoint: 'session-webhook',
      retryable: false,
    });
    expect(error.message).toBe('DingTalk session-webhook failed: HTTP 200 code=300001 (session expired)');
  });

  it.each([
    ['130101 (send too fast)', '{"errcode":130101,"errmsg":"send too fast"}', true],
    ['302033 (send too fast)', '{"errcode":302033,"errmsg":"too fast"}', true],
    ['90002 (rate limit)', '{"errcode":90002,"errmsg":"limit"}', true],
    ['90018 (rate limit)', '{"errcode":"90018"}', true],
    ['-1 (system busy)', '{"errcode":-1,"errmsg":"busy"}', true],
    ['88 (no permission)', '{"errcode":88,"errmsg":"no permission"}', false],
    ['310000 (keywords not in content)', '{"errcode":310000,"errmsg":"keywords not in content"}', false],
    ['40035 (bad parameter)', '{"errcode":40035}', false],
  ])('classifies errcode %s inside a 200', (_name, body, retryable) => {
    expect(apiError(200, body).retryable).toBe(retryable);
  });

  it.each([
    ['an HTML 502 page', 502, '<html><body><h1>502 Bad Gateway</h1></body></html>', true],
    ['an HTML 403 page', 403, '<!DOCTYPE html><html>forbidden</html>', false],
    ['an empty 503', 503, '', true],
    ['an empty 404', 404, '', false],
    ['plain text 500', 500, 'Internal Server Error', true],
    ['a JSON string 400', 400, '"bad"', false],
  ])('maps %s without assuming JSON', (_name, status, text, retryable) => {
    const error = apiError(status, text);
    expect(error).toMatchObject({
      status,
      apiCode: undefined,
      requestId: undefined,
      retryable,
      bodySnippet: text,
    });
    expect(error.message).toBe(`DingTalk connections/open failed: HTTP ${status}`);
  });

  it.each([
    ['429 with a new-style code', 429, '{"code":"Throttling","message":"slow down"}', true],
    ['403 QpsLimit', 403, '{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"qps"}', true],
    ['400 QpsLimit in another case', 400, '{"code":"qpslimit"}', true],
    [
      '403 permission denied',
      403,
      '{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"no scope"}',
      false,
    ],
    ['400 invalid parameter', 400, '{"code":"InvalidParameter","message":"bad"}', false],
    ['401 invalid credentials', 401, '{"code":"InvalidAuthentication"}', false],
    ['500 with a code', 500, '{"code":"ServiceUnavailable"}', true],
    ['a numeric errcode on a 4xx', 400, '{"errcode":130101,"errmsg":"too fast"}', true],
  ])('classifies %s', (_name, status, body, retryable) => {
    expect(apiError(status, body).retryable).toBe(retryable);
  });

  it.each([100, 199, 300, 302, 304])('treats HTTP %i as an error', (status) => {
    expect(apiError(status, '{}').status).toBe(status);
  });

  it('keeps long bodies out of the message and cuts the snippet', () => {
    const body = `<html>${'x'.repeat(10_000)}SECRET-TAIL</html>`;
    const error = apiError(502, body);
    expect(error.bodySnippet.length).toBeLessThanOrEqual(MAX_BODY_SNIPPET_CHARS + 1);
    expect(error.bodySnippet).not.toContain('SECRET-TAIL');
    expect(error.message).not.toContain('xxxx');
  });

  it('cuts a long API message in the error message', () => {
    const error = apiError(400, JSON.stringify({ code: 'X', message: `${'m'.repeat(1_000)}TAIL` }));
    expect(error.message).not.toContain('TAIL');
    expect(error.message.length).toBeLessThan(400);
  });

  it('ignores a non-string, non-number code', () => {
    expect(apiError(400, '{"code":{"nested":true},"message":["a"]}')).toMatchObject({ apiCode: undefined });
    expect(apiError(400, '{"code":{"nested":true},"message":["a"]}').message).toBe(
      'DingTalk connections/open failed: HTTP 400',
    );
  });
});

describe('isRetryableAnswer', () => {
  it.each<[number, string | undefined, boolean]>([
    [500, undefined, true],
    [502, undefined, true],
    [503, 'ServiceUnavailable', true],
    [599, undefined, true],
    [429, undefined, true],
    [429, 'Forbidden.AccessDenied', true],
    [200, '130101', true],
    [200, '302033', true],
    [200, '90002', true],
    [200, '90018', true],
    [200, '-1', true],
    [403, 'Forbidden.AccessDenied.QpsLimitForApi', true],
    [403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', true],
    [400, 'Throttling.User', true],
    [400, 'TooManyRequests', true],
    [400, 'send.too.fast', true],
    [400, undefined, false],
    [401, undefined, false],
    [403, undefined, false],
    [404, undefined, false],
    [200, undefined, false],
    [200, '88', false],
    [200, '300001', false],
    [200, '1300010', false],
    [403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied', false],
    [403, 'Forbidden.AccessDenied.IpNotInWhiteList', false],
    [401, 'InvalidAuthentication', false],
    [400, 'InvalidParameter', false],
  ])('HTTP %i, code %s → %s', (status, apiCode, expected) => {
    expect(isRetryableAnswer(status, apiCode)).toBe(expected);
  });
});

describe('DingTalkHttp over loopback', () => {
  interface Seen {
    method: string | undefined;
    url: string | undefined;
    headers: IncomingHttpHeaders;
    body: string;
  }
  let server: Server;
  let baseUrl: string;
  let seen: Seen[];
  let calls: string[];
  let http: DingTalkHttp;
  /** Requests per socket, for the stale keep-alive case. */
  let requestsPerSocket: WeakMap<object, number>;
  let droppedRequests: number;

  beforeEach(async () => {
    seen = [];
    calls = [];
    requestsPerSocket = new WeakMap();
    droppedRequests = 0;
    server = createServer((req, res) => {
      const count = (requestsPerSocket.get(req.socket) ?? 0) + 1;
      requestsPerSocket.set(req.socket, count);
      if (req.url === '/silent') return; // never answers
      if (req.url === '/cut') {
        // Answers, then loses the connection halfway through the body.
        res.writeHead(200, { 'content-length': '100' }).write('{"errcode":');
        setTimeout(() => req.socket.destroy(), 10);
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: '' });
        return;
      }
      if (req.url === '/closes-idle' && count > 1) {
        // As a server whose keep-alive timeout fires just as the next request arrives: no answer.
        droppedRequests += 1;
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = req.url === '/fail' ? 403 : 200;
        const body = status === 200 ? { success: true, result: true } : { code: 'Forbidden.AccessDenied' };
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    http = new DingTalkHttp({
      connectTimeoutMs: 2_000,
      requestTimeoutMs: 2_000,
      onCall: (endpoint, status) => calls.push(`${endpoint} ${status}`),
    });
  });

  afterEach(async () => {
    await http.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends a PUT with a JSON body and reports the call', async () => {
    const answer = await http.requestJson(
      'PUT',
      `${baseUrl}/v1.0/card/streaming`,
      { key: '值' },
      {
        endpoint: 'card/streaming',
        headers: { 'x-acs-dingtalk-access-token': 'tok' },
      },
    );

    expect(answer).toStrictEqual({ success: true, result: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/v1.0/card/streaming', body: '{"key":"值"}' });
    expect(seen[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-acs-dingtalk-access-token': 'tok',
    });
    expect(calls).toEqual(['card/streaming 200']);
  });

  it('sends no body and no content type when the body is undefined', async () => {
    await http.requestJson('GET', `${baseUrl}/v1.0/x`, undefined, { endpoint: 'x' });

    expect(seen[0]).toMatchObject({ method: 'GET', body: '' });
    expect(seen[0]?.headers['content-type']).toBeUndefined();
  });

  it('sends again at once, on a new connection, a request whose kept-alive connection the server closed', async () => {
    await http.postJson(`${baseUrl}/closes-idle`, { n: 1 }, { endpoint: 'x' });
    // Let the first connection go back to the pool, so the next request is sent on it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await http.postJson(`${baseUrl}/closes-idle`, { n: 2 }, { endpoint: 'x' });

    expect(answer).toStrictEqual({ success: true, result: true });
    expect(droppedRequests).toBe(1);
    expect(seen.map((request) => request.body)).toEqual(['{"n":1}', '{"n":2}']);
    expect(calls).toEqual(['x 200', 'x 200']);
  });

  it('sends to a URL given parsed, query included, as to the same URL given as a string', async () => {
    await http.postJson(new URL(`${baseUrl}/robot/send?session=s1&x=%20`), { a: 1 }, { endpoint: 'w' });
    await http.postJson(`${baseUrl}/robot/send?session=s2`, { a: 2 }, { endpoint: 'w' });

    expect(seen.map((request) => request.url)).toEqual([
      '/robot/send?session=s1&x=%20',
      '/robot/send?session=s2',
    ]);
    expect(calls).toEqual(['w 200', 'w 200']);
  });

  it.each(['ftp://127.0.0.1/x', 'not a url'])(
    'refuses %s as a transport failure, sending nothing',
    async (url) => {
      await expect(http.postJson(url, {}, { endpoint: 'bad' })).rejects.toBeInstanceOf(
        DingTalkTransportError,
      );
      expect(seen).toHaveLength(0);
      expect(calls).toEqual(['bad transport']);
    },
  );

  it('keeps postJson a POST', async () => {
    await http.postJson(`${baseUrl}/v1.0/y`, { a: 1 }, { endpoint: 'y' });

    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(calls).toEqual(['y 200']);
  });

  it('maps a refusal to DingTalkApiError and still reports the call', async () => {
    let error: unknown;
    try {
      await http.requestJson('PUT', `${baseUrl}/fail`, {}, { endpoint: 'card/instances' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({
      status: 403,
      apiCode: 'Forbidden.AccessDenied',
      endpoint: 'card/instances',
    });
    expect(calls).toEqual(['card/instances 403']);
  });

  it('fails as a transport failure at the deadline, or when the caller aborts', async () => {
    const timedOut = await http
      .postJson(`${baseUrl}/silent`, {}, { endpoint: 'slow', timeoutMs: 50 })
      .catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(DingTalkTransportError);
    expect((timedOut as Error).cause).toMatchObject({ name: 'TimeoutError' });

    const reason = new Error('turn stopped');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 20);
    const aborted = await http
      .postJson(`${baseUrl}/silent`, {}, { endpoint: 'slow', signal: controller.signal })
      .catch((error: unknown) => error);
    expect((aborted as Error).cause).toBe(reason);
    expect(calls).toEqual(['slow transport', 'slow transport']);
  });

  it('does not send again a request whose answer broke off: it had reached the server', async () => {
    const error = await http.postJson(`${baseUrl}/cut`, {}, { endpoint: 'cut' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect(seen.filter((request) => request.url === '/cut')).toHaveLength(1);
    expect(calls).toEqual(['cut transport']);
  });

  it('maps an unreachable host to DingTalkTransportError and reports it as transport', async () => {
    let error: unknown;
    try {
      await http.requestJson('PUT', 'http://127.0.0.1:9/v1.0/z', {}, { endpoint: 'z' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect(calls).toEqual(['z transport']);
  });
});
