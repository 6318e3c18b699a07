/**
 * HTTP half of the fake DingTalk: api.dingtalk.com and oapi.dingtalk.com paths (connections/open, access
 * tokens, robot send APIs, media via `fake-dingtalk-media.ts`, cards via `fake-dingtalk-cards.ts`,
 * reactions via `fake-dingtalk-emotion.ts`) and session webhooks, with scripted answers and a record of
 * every request.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { SESSION_WEBHOOK_PATH } from './bot-message-factory.js';
import {
  apiError,
  oapiAnswer,
  robotSendAnswer,
  sessionWebhookAnswer,
  writeAnswer,
} from './fake-dingtalk-answers.js';
import { FakeDingTalkCards } from './fake-dingtalk-cards.js';
import { FakeDingTalkEmotions } from './fake-dingtalk-emotion.js';
import { FAKE_FILES_PATH_PREFIX, FakeDingTalkMedia } from './fake-dingtalk-media.js';
import {
  isNonEmptyString,
  isRecord,
  newRequestId,
  tryParseJson,
  type FakeDingTalkState,
  type InjectedFailure,
} from './fake-dingtalk-state.js';
import type {
  ApiRequestView,
  ApiScriptHandler,
  RecordedApiRequest,
  RecordedOpenRequest,
  RecordedRobotMessage,
  RecordedWebhookPost,
  ScriptedResponse,
  StreamSubscription,
  WebhookScriptHandler,
} from './fake-dingtalk-types.js';

/** Largest HTTP request body the fake reads; larger bodies get 413. */
const MAX_REQUEST_BODY_BYTES = 25 * 1024 * 1024;

/**
 * Serves the HTTP requests of one fake. The record arrays are exposed read-only by `FakeDingTalk`.
 * @internal
 */
export class FakeDingTalkHttp {
  readonly apiRequests: RecordedApiRequest[] = [];
  readonly openRequests: RecordedOpenRequest[] = [];
  readonly webhookPosts: RecordedWebhookPost[] = [];
  readonly robotMessages: RecordedRobotMessage[] = [];
  readonly issuedAccessTokens: string[] = [];
  readonly media: FakeDingTalkMedia;
  readonly cards: FakeDingTalkCards;
  readonly emotions: FakeDingTalkEmotions;
  readonly #state: FakeDingTalkState;
  readonly #accessTokens = new Map<string, number>();
  readonly #apiScripts = new Map<string, ApiScriptHandler>();
  #webhookScript: WebhookScriptHandler | undefined;
  #openFailure: InjectedFailure | undefined;

  constructor(state: FakeDingTalkState) {
    this.#state = state;
    const isLiveToken = (token: unknown): boolean => this.#isLiveToken(token);
    this.media = new FakeDingTalkMedia(state, isLiveToken);
    this.cards = new FakeDingTalkCards(state, isLiveToken);
    this.emotions = new FakeDingTalkEmotions(state, isLiveToken);
  }

  /** The next `count` connections/open calls answer `status` with `body` (an error body by default). */
  failNextOpens(count: number, status: number, body?: unknown): void {
    const defaultBody =
      status === 401
        ? { requestid: newRequestId(), code: 'authFailed', message: '鉴权失败' }
        : { requestid: newRequestId(), code: 'ServiceUnavailable', message: 'injected failure' };
    this.#openFailure = { remaining: count, status, body: body ?? defaultBody };
  }

  /** Scripts the answer for one HTTP path (exact pathname match); `undefined` removes the script. */
  scriptApi(path: string, handler: ApiScriptHandler | undefined): void {
    if (handler === undefined) this.#apiScripts.delete(path);
    else this.#apiScripts.set(path, handler);
  }

  /** Scripts session-webhook answers; a handler result of `undefined` keeps the default behaviour. */
  scriptWebhook(handler: WebhookScriptHandler | undefined): void {
    this.#webhookScript = handler;
  }

  /** Makes every access token issued so far invalid, as if it had expired. */
  invalidateAccessTokens(): void {
    this.#accessTokens.clear();
  }

  /** The `request` listener of the server; a handler bug answers 500 instead of hanging the client. */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#handleRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'fakeInternalError', message: String(error) }));
    });
  }

  async #handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const buffer = await readBody(req);
    const url = new URL(req.url ?? '/', this.#state.baseUrl);
    const rawBody = buffer?.toString('utf8') ?? '';
    const contentType = req.headers['content-type'] ?? '';
    const parsed =
      contentType.includes('json') && rawBody !== '' ? tryParseJson(rawBody) : { ok: false as const };
    const view: ApiRequestView = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      rawBody,
      body: parsed.ok ? parsed.value : undefined,
    };
    let answer: ScriptedResponse;
    if (buffer === undefined) answer = apiError(413, 'payloadTooLarge', 'request body too large');
    else
      answer =
        (await this.#apiScripts.get(view.path)?.(view)) ?? (await this.#route(view, parsed.ok, buffer));
    if ('destroySocket' in answer) {
      this.apiRequests.push({ ...view, atMs: Date.now(), response: { status: 0, body: undefined } });
      this.#state.notify();
      req.socket.destroy();
      return;
    }
    if (answer.delayMs !== undefined) await this.#state.sleep(answer.delayMs);
    const bytesSent = await writeAnswer(res, answer, (delayMs) => this.#state.sleep(delayMs));
    const raw = answer.rawBody;
    const body = raw === undefined ? answer.body : typeof raw === 'string' ? raw : undefined;
    const response = { status: answer.status, body, bytesSent };
    this.apiRequests.push({ ...view, atMs: Date.now(), response });
    if (view.path === SESSION_WEBHOOK_PATH) {
      const sessionId = url.searchParams.get('session');
      const session = sessionId === null ? undefined : this.#state.sessions.get(sessionId);
      this.webhookPosts.push({
        sessionId,
        conversationId: session?.conversationId,
        body: view.body,
        headers: view.headers,
        atMs: Date.now(),
        response,
      });
    }
    this.#state.notify();
  }

  async #route(view: ApiRequestView, isJson: boolean, buffer: Buffer): Promise<ScriptedResponse> {
    // api.dingtalk.com rejects non-JSON bodies on write calls (reference §0).
    const isNewApi = view.path.startsWith('/v1.0/');
    if (isNewApi && (view.method === 'POST' || view.method === 'PUT') && !isJson) {
      return apiError(400, 'MissingBody', 'body is mandatory for this action');
    }
    switch (`${view.method} ${view.path}`) {
      case 'POST /v1.0/gateway/connections/open':
        return this.#openConnection(view);
      case 'POST /v1.0/oauth2/accessToken':
        return this.#issueAccessToken(view);
      case 'GET /gettoken':
        return this.#issueLegacyToken(view);
      case 'POST /v1.0/robot/oToMessages/batchSend':
        return this.#robotSend(view, 'oto');
      case 'POST /v1.0/robot/groupMessages/send':
        return this.#robotSend(view, 'group');
      case `POST ${SESSION_WEBHOOK_PATH}`:
        return this.#sessionWebhook(view, isJson, buffer.length);
      case 'POST /media/upload':
        return this.media.upload(view, buffer);
      case 'POST /v1.0/robot/messageFiles/download':
        return this.media.messageFilesDownload(view);
      case 'POST /v1.0/card/instances/createAndDeliver':
        return this.cards.handle(view, 'create');
      case 'PUT /v1.0/card/instances':
        return this.cards.handle(view, 'update');
      case 'PUT /v1.0/card/streaming':
        return this.cards.handle(view, 'streaming');
      case 'POST /v1.0/robot/emotion/reply':
        return this.emotions.handle(view, 'reply');
      case 'POST /v1.0/robot/emotion/recall':
        return this.emotions.handle(view, 'recall');
      default:
        if (view.method === 'GET' && view.path.startsWith(FAKE_FILES_PATH_PREFIX)) {
          return this.media.serveFile(view);
        }
        return apiError(404, 'notFound', `no such API: ${view.method} ${view.path}`);
    }
  }

  #openConnection(view: ApiRequestView): ScriptedResponse {
    const answer = this.#decideOpen(view.body);
    const responseBody = answer.body;
    const ticket =
      isRecord(responseBody) && typeof responseBody['ticket'] === 'string'
        ? responseBody['ticket']
        : undefined;
    this.openRequests.push({
      body: view.body,
      headers: view.headers,
      status: answer.status,
      responseBody,
      atMs: Date.now(),
      ticket,
    });
    return answer;
  }

  #decideOpen(body: unknown): { status: number; body: unknown } {
    const injected = this.#openFailure;
    if (injected !== undefined && injected.remaining > 0) {
      injected.remaining -= 1;
      return { status: injected.status, body: injected.body };
    }
    const invalid = (message: string): { status: number; body: unknown } => ({
      status: 400,
      body: { requestid: newRequestId(), code: 'invalidParameter', message },
    });
    if (!isRecord(body)) return invalid('body must be a JSON object');
    const clientId = body['clientId'];
    const clientSecret = body['clientSecret'];
    const subscriptions = body['subscriptions'];
    if (!isNonEmptyString(clientId) || !isNonEmptyString(clientSecret)) {
      return invalid('clientId and clientSecret are required');
    }
    if (!Array.isArray(subscriptions) || subscriptions.length === 0)
      return invalid('subscriptions is required');
    const parsedSubscriptions: StreamSubscription[] = [];
    for (const entry of subscriptions) {
      if (!isRecord(entry) || !isNonEmptyString(entry['type']) || !isNonEmptyString(entry['topic'])) {
        return invalid('each subscription needs a type and a topic');
      }
      parsedSubscriptions.push({ type: entry['type'], topic: entry['topic'] });
    }
    if (clientId !== this.#state.options.clientId || clientSecret !== this.#state.options.clientSecret) {
      return { status: 401, body: { requestid: newRequestId(), code: 'authFailed', message: '鉴权失败' } };
    }
    const ticket = randomUUID();
    this.#state.tickets.set(ticket, {
      ticket,
      expiresAtMs: Date.now() + this.#state.options.ticketTtlMs,
      subscriptions: parsedSubscriptions,
      openRequestBody: body,
      isUsed: false,
    });
    return { status: 200, body: { endpoint: this.#state.endpoint, ticket } };
  }

  #newAccessToken(): string {
    const token = randomBytes(16).toString('hex');
    this.#accessTokens.set(token, Date.now() + this.#state.options.accessTokenTtlSeconds * 1000);
    this.issuedAccessTokens.push(token);
    return token;
  }

  #issueAccessToken(view: ApiRequestView): ScriptedResponse {
    const body = isRecord(view.body) ? view.body : {};
    if (
      body['appKey'] !== this.#state.options.clientId ||
      body['appSecret'] !== this.#state.options.clientSecret
    ) {
      return apiError(400, 'invalidClientIdOrSecret', '无效的clientId或clientSecret');
    }
    return {
      status: 200,
      body: { accessToken: this.#newAccessToken(), expireIn: this.#state.options.accessTokenTtlSeconds },
    };
  }

  #issueLegacyToken(view: ApiRequestView): ScriptedResponse {
    if (
      view.query['appkey'] !== this.#state.options.clientId ||
      view.query['appsecret'] !== this.#state.options.clientSecret
    ) {
      return oapiAnswer(40089, '不合法的corpid或corpsecret');
    }
    const body = {
      errcode: 0,
      access_token: this.#newAccessToken(),
      errmsg: 'ok',
      expires_in: this.#state.options.accessTokenTtlSeconds,
    };
    return { status: 200, body };
  }

  /** New tokens are also accepted as oapi `access_token` (reference §4). */
  #isLiveToken(token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const expiresAtMs = this.#accessTokens.get(token);
    return expiresAtMs !== undefined && Date.now() < expiresAtMs;
  }

  #robotSend(view: ApiRequestView, kind: 'oto' | 'group'): ScriptedResponse {
    if (!this.#isLiveToken(view.headers['x-acs-dingtalk-access-token'])) {
      return apiError(
        this.#state.options.invalidTokenStatus,
        'InvalidAuthentication',
        '不合法的access_token',
      );
    }
    const { answer, accepted } = robotSendAnswer(view, kind, this.#state.options.clientId, (mediaId) =>
      this.media.mediaTypeOf(mediaId),
    );
    if (accepted !== undefined) this.robotMessages.push(accepted);
    return answer;
  }

  async #sessionWebhook(view: ApiRequestView, isJson: boolean, bodyBytes: number): Promise<ScriptedResponse> {
    const sessionId = view.query['session'] ?? null;
    const session = sessionId === null ? undefined : this.#state.sessions.get(sessionId);
    const scripted = await this.#webhookScript?.({
      ...view,
      sessionId,
      conversationId: session?.conversationId,
    });
    if (scripted !== undefined) return scripted;
    return sessionWebhookAnswer(view, isJson, bodyBytes, session, this.#state.options);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let totalBytes = 0;
    req.on('data', (chunk: Buffer) => {
      totalBytes += chunk.length;
      if (totalBytes <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(totalBytes > MAX_REQUEST_BODY_BYTES ? undefined : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}
