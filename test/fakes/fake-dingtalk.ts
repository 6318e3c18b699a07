import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { BOT_MESSAGE_TOPIC, dmText, groupText, makeBotMessage } from './bot-message-factory.js';
import type { BotMessageContext, BotMessageData, BotMessageOverrides } from './bot-message-factory.js';
import type { FakeDingTalkCards } from './fake-dingtalk-cards.js';
import type { FakeDingTalkEmotions } from './fake-dingtalk-emotion.js';
import { FakeDingTalkHttp } from './fake-dingtalk-http.js';
import type {
  FakeDingTalkMedia,
  RecordedUpload,
  RegisterDownloadOptions,
  UploadScriptHandler,
} from './fake-dingtalk-media.js';
import { FakeStreamPusher } from './fake-dingtalk-push.js';
import { FakeDingTalkState } from './fake-dingtalk-state.js';
import { FakeStreamConnections } from './fake-dingtalk-stream.js';
import {
  DEFAULT_WAIT_TIMEOUT_MS,
  resolveFakeDingTalkOptions,
  type ApiScriptHandler,
  type FakeConnection,
  type FakeDingTalkOptions,
  type PushedFrame,
  type PushOptions,
  type PushTarget,
  type RecordedAck,
  type RecordedApiRequest,
  type RecordedControlFrame,
  type RecordedOpenRequest,
  type RecordedRobotMessage,
  type RecordedSentFrame,
  type RecordedUpstreamFrame,
  type RecordedWebhookPost,
  type RejectedUpgrade,
  type ResolvedFakeDingTalkOptions,
  type WebhookScriptHandler,
} from './fake-dingtalk-types.js';

export { DEFAULT_FAKE_DINGTALK_OPTIONS, DEFAULT_WAIT_TIMEOUT_MS } from './fake-dingtalk-types.js';
export { FAKE_FILES_PATH_PREFIX, FAKE_MEDIA_LIMITS } from './fake-dingtalk-media.js';
export { FAKE_AI_CARD_TEMPLATE_IDS, cardFaults } from './fake-dingtalk-card-records.js';
// Every option, record and script type of the fake is part of its surface.
export type * from './fake-dingtalk-types.js';
export type * from './fake-dingtalk-media.js';
export type * from './fake-dingtalk-card-records.js';
export type * from './fake-dingtalk-emotion.js';

/**
 * A faithful fake of DingTalk for tests: one `node:http` server on 127.0.0.1 (port 0) that serves the
 * api.dingtalk.com and oapi.dingtalk.com paths, plus the Stream-mode WebSocket on `/connect`.
 * Behaviour follows `shared/reference/dingtalk-protocol.md` §1–§7 and the §10 checklist; every HTTP request
 * and every WebSocket frame (both directions, control frames included) is recorded for assertions.
 *
 * Scriptable: create with {@link FakeDingTalk.start}; point both the API base and the oapi base of the
 * code under test at {@link FakeDingTalk.baseUrl}; always `await fake.close()`. This class is the public
 * surface and lifecycle; the HTTP half is `fake-dingtalk-http.ts` (media, cards and reactions in
 * `fake-dingtalk-{media,cards,emotion}.ts`), the Stream half `fake-dingtalk-stream.ts` (sockets) and
 * `fake-dingtalk-push.ts` (pushed frames).
 */
export class FakeDingTalk {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly baseUrl: string;
  /** Options after defaults were applied. */
  readonly options: Readonly<ResolvedFakeDingTalkOptions>;

  readonly #server: Server;
  readonly #state: FakeDingTalkState;
  readonly #http: FakeDingTalkHttp;
  readonly #stream: FakeStreamConnections;
  readonly #pusher: FakeStreamPusher;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, options: ResolvedFakeDingTalkOptions) {
    this.#server = server;
    this.options = options;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.#state = new FakeDingTalkState(options, this.baseUrl);
    this.#http = new FakeDingTalkHttp(this.#state);
    this.#stream = new FakeStreamConnections(this.#state);
    this.#pusher = new FakeStreamPusher(this.#state, this.#stream);
    server.on('request', (req, res) => {
      this.#http.onRequest(req, res);
    });
    server.on('upgrade', (req, socket, head) => {
      this.#stream.handleUpgrade(req, socket, head);
    });
  }

  /** Starts a fake on 127.0.0.1 with an ephemeral port. */
  static async start(options: FakeDingTalkOptions = {}): Promise<FakeDingTalk> {
    const server = createServer();
    if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeDingTalk(server, resolveFakeDingTalkOptions(options));
  }

  /** The `endpoint` returned by connections/open. */
  get endpoint(): string {
    return this.#state.endpoint;
  }

  /** Every connections/open call, in order. */
  get openRequests(): readonly RecordedOpenRequest[] {
    return this.#http.openRequests;
  }
  /** Every accepted WebSocket, in order, including closed ones. */
  get connections(): readonly FakeConnection[] {
    return this.#stream.connections;
  }
  /** Upgrades refused before the handshake completed. */
  get rejectedUpgrades(): readonly RejectedUpgrade[] {
    return this.#stream.rejectedUpgrades;
  }
  /** Every HTTP request (API, oapi, webhook, connections/open), with the answer given. */
  get apiRequests(): readonly RecordedApiRequest[] {
    return this.#http.apiRequests;
  }
  /** Every POST to a session webhook, valid or not. */
  get webhookPosts(): readonly RecordedWebhookPost[] {
    return this.#http.webhookPosts;
  }
  /** Messages accepted by batchSend / groupMessages/send. */
  get robotMessages(): readonly RecordedRobotMessage[] {
    return this.#http.robotMessages;
  }
  /** Files accepted by `media/upload`, in order. */
  get uploads(): readonly RecordedUpload[] {
    return this.#http.media.uploads;
  }
  /** Media half (§6): uploads, registered downloads, signed file URLs, and their fault injection. */
  get media(): FakeDingTalkMedia {
    return this.#http.media;
  }
  /** Card half (§7.1–7.2): cards by outTrackId with their history, every card call, QPS limit, faults. */
  get cards(): FakeDingTalkCards {
    return this.#http.cards;
  }
  /** Reaction half (§7.5): reactions per openMsgId, every reply/recall call, scripted faults. */
  get emotions(): FakeDingTalkEmotions {
    return this.#http.emotions;
  }
  /** Access tokens handed out (new and legacy endpoints), including invalidated ones. */
  get issuedAccessTokens(): readonly string[] {
    return this.#http.issuedAccessTokens;
  }
  /** CALLBACK/EVENT pushes including redeliveries. */
  get pushes(): readonly PushedFrame[] {
    return this.#pusher.pushes;
  }
  /** Every frame written to any socket (pushes, SYSTEM frames, raw payloads). */
  get sentFrames(): readonly RecordedSentFrame[] {
    return this.#stream.sentFrames;
  }
  /** Every client → server data frame, including unparsable ones. */
  get upstreamFrames(): readonly RecordedUpstreamFrame[] {
    return this.#stream.upstreamFrames;
  }
  /** Upstream frames that carried `headers.messageId`. */
  get acks(): readonly RecordedAck[] {
    return this.#stream.acks;
  }
  /** WebSocket control pings/pongs received from clients. */
  get controlFrames(): readonly RecordedControlFrame[] {
    return this.#stream.controlFrames;
  }

  /** Connections whose socket is open (draining ones included). */
  liveConnections(): FakeConnection[] {
    return this.#stream.connections.filter((connection) => connection.isOpen);
  }

  /** Pushes whose messageId has not been acknowledged yet. */
  pendingAcks(): PushedFrame[] {
    return this.#pusher.pushes.filter((push) => !this.#stream.ackedMessageIds.has(push.messageId));
  }
  /** The next `count` connections/open calls answer `status` with `body` (an error body by default). */
  failNextOpens(count: number, status: number, body?: unknown): void {
    this.#http.failNextOpens(count, status, body);
  }

  /** The next `count` WebSocket upgrades are refused with `status` even if the ticket is valid. */
  failNextUpgrades(count: number, status = 502, body?: unknown): void {
    this.#stream.failNextUpgrades(count, status, body);
  }

  /** Scripts the answer for one HTTP path (exact pathname match); `undefined` removes the script. */
  scriptApi(path: string, handler: ApiScriptHandler | undefined): void {
    this.#http.scriptApi(path, handler);
  }

  /** Scripts session-webhook answers; a handler result of `undefined` keeps the default behaviour. */
  scriptWebhook(handler: WebhookScriptHandler | undefined): void {
    this.#http.scriptWebhook(handler);
  }

  /** Scripts `media/upload` answers; a handler result of `undefined` keeps the default behaviour. */
  scriptUpload(handler: UploadScriptHandler | undefined): void {
    this.#http.media.scriptUpload(handler);
  }

  /**
   * Makes `downloadCode` resolvable through messageFiles/download; the signed URL it yields serves `bytes`
   * (`options` may be just the content type). See {@link FakeDingTalkMedia} for expiry and file faults.
   */
  registerDownload(
    downloadCode: string,
    bytes: Buffer | Uint8Array | string,
    options?: string | RegisterDownloadOptions,
  ): void {
    this.#http.media.registerDownload(downloadCode, bytes, options);
  }

  /** Makes every access token issued so far invalid, as if it had expired. */
  invalidateAccessTokens(): void {
    this.#http.invalidateAccessTokens();
  }

  /**
   * Makes `sessionId` known to the fake; later posts succeed until `expiresAtMs`.
   * Builders and {@link pushBotMessage} do this for webhooks pointing at the fake.
   */
  registerSession(sessionId: string, expiresAtMs: number, conversationId?: string): void {
    this.#state.registerSession(sessionId, expiresAtMs, conversationId);
  }

  /** Later posts to this session answer errcode 300001. */
  expireSession(sessionId: string): void {
    const session = this.#state.sessions.get(sessionId);
    if (session !== undefined) session.expiresAtMs = 0;
  }

  /** Context for the bot-message builders so webhooks point at this fake. */
  get botMessageContext(): BotMessageContext {
    return {
      baseUrl: this.baseUrl,
      robotCode: this.options.clientId,
      sessionWebhookTtlMs: this.options.sessionWebhookTtlMs,
      nowMs: Date.now,
    };
  }

  /** {@link makeBotMessage} with a session webhook valid on this fake. */
  makeBotMessage(overrides?: BotMessageOverrides): BotMessageData {
    return this.#state.registerWebhookOf(makeBotMessage(overrides, this.botMessageContext));
  }

  /** {@link dmText} with a session webhook valid on this fake. */
  dmText(text: string, overrides?: BotMessageOverrides): BotMessageData {
    return this.#state.registerWebhookOf(dmText(text, overrides, this.botMessageContext));
  }

  /** {@link groupText} with a session webhook valid on this fake. */
  groupText(text: string, overrides?: BotMessageOverrides): BotMessageData {
    return this.#state.registerWebhookOf(groupText(text, overrides, this.botMessageContext));
  }

  /**
   * Pushes a bot message as a CALLBACK on `/v1.0/im/bot/messages/get` to one random live connection that
   * subscribed to it (or to `options.connection`). Registers its session webhook when it points here.
   * Throws when no eligible connection exists.
   */
  pushBotMessage(data: BotMessageData, options: PushOptions = {}): PushedFrame {
    this.#state.registerWebhookOf(data);
    return this.pushCallback(BOT_MESSAGE_TOPIC, data, options);
  }

  /** Pushes a CALLBACK frame on `topic` with `data` JSON-encoded (strings are sent as they are). */
  pushCallback(topic: string, data: unknown, options: PushOptions = {}): PushedFrame {
    return this.#pusher.pushCallback(topic, data, options);
  }

  /** Pushes an EVENT frame (topic `*`) with the §1.3 event headers to a connection subscribed to EVENT. */
  pushEvent(eventType: string, data: unknown, options: PushOptions = {}): PushedFrame {
    return this.#pusher.pushEvent(eventType, data, options);
  }

  /** Sends any object as a JSON text frame; nothing is validated. */
  pushFrame(frame: object, options: PushTarget = {}): RecordedSentFrame {
    return this.#pusher.pushFrame(frame, options);
  }

  /** Sends arbitrary bytes (malformed frames, binary frames). */
  pushRaw(payload: string | Buffer, options: PushTarget & { binary?: boolean } = {}): RecordedSentFrame {
    return this.#pusher.pushRaw(payload, options);
  }

  /** Sends a SYSTEM `ping` with `{"opaque":…}` data; returns its messageId. */
  sendPing(options: PushTarget & { opaque?: string } = {}): string {
    return this.#pusher.sendPing(options);
  }

  /**
   * Sends a SYSTEM `disconnect`, stops routing pushes to that connection, and terminates the socket after
   * `dropAfterMs` (default `disconnectDropAfterMs`) unless the client closed it first. Returns the messageId.
   */
  sendDisconnect(options: PushTarget & { reason?: string; dropAfterMs?: number } = {}): string {
    return this.#pusher.sendDisconnect(options);
  }

  /** Closes a connection with a close frame (`'close'`, code 1000 by default) or drops TCP (`'terminate'`). */
  dropConnection(connection: FakeConnection, mode: 'close' | 'terminate', code = 1000, reason = ''): void {
    this.#stream.dropConnection(connection, mode, code, reason);
  }

  /** Resolves with all connections once `count` have been accepted in total. */
  waitForConnections(count: number, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<FakeConnection[]> {
    return this.#waitForCount(() => this.#stream.connections, count, timeoutMs, 'connection(s)');
  }

  /** Resolves with the first ACK for `messageId`. */
  waitForAck(messageId: string, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<RecordedAck> {
    const acks = this.#stream.acks;
    return this.waitFor(
      () => acks.find((ack) => ack.messageId === messageId),
      timeoutMs,
      () => `ACK of ${messageId} (ACKed so far: ${acks.map((ack) => ack.messageId).join(', ') || 'none'})`,
    );
  }

  /** Resolves with all webhook posts once there are at least `count`. */
  waitForWebhookPosts(count: number, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<RecordedWebhookPost[]> {
    return this.#waitForCount(() => this.#http.webhookPosts, count, timeoutMs, 'webhook post(s)');
  }

  /** Resolves with the requests to `path` once there are at least `count`. */
  waitForApiRequests(
    path: string,
    count: number,
    timeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
  ): Promise<RecordedApiRequest[]> {
    const matching = (): RecordedApiRequest[] => this.#http.apiRequests.filter((r) => r.path === path);
    return this.#waitForCount(matching, count, timeoutMs, `request(s) to ${path}`);
  }

  /**
   * Resolves with the first non-`undefined` value of `probe`, re-evaluated whenever the fake records
   * something. Rejects with `FakeDingTalk: timed out after <n> ms waiting for <description>` after
   * `timeoutMs`, or when the fake closes.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, description: () => string): Promise<T> {
    return this.#state.waitFor(probe, timeoutMs, description);
  }

  /** Terminates every socket, stops all timers and closes the server. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#pusher.close();
    this.#state.close();
    await this.#stream.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      this.#server.close((error) => {
        if (error === undefined) resolve();
        else reject(error);
      });
    });
  }

  /** Resolves with a copy of `list()` once it holds at least `count` items. */
  #waitForCount<T>(list: () => readonly T[], count: number, timeoutMs: number, what: string): Promise<T[]> {
    return this.waitFor(
      () => (list().length >= count ? [...list()] : undefined),
      timeoutMs,
      () => `${count} ${what} (have ${list().length})`,
    );
  }
}
