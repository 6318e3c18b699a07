import { createHash, randomBytes } from 'node:crypto';

/**
 * Builders for realistic `/v1.0/im/bot/messages/get` callback payloads (the decoded `data` of a
 * CALLBACK frame), shaped like the samples in the protocol reference §2.1/§2.2.
 *
 * Identity fields (senderId, conversationId, chatbotUserId) are derived deterministically from the
 * sender / group / robot so that two messages from the same user land in the same conversation, the way
 * DingTalk behaves. Per-message fields (msgId, session id) are unique on every call.
 */

/** CALLBACK topic of bot messages. */
export const BOT_MESSAGE_TOPIC = '/v1.0/im/bot/messages/get';

/** Path of the session-webhook endpoint on oapi.dingtalk.com (and on the fake). */
export const SESSION_WEBHOOK_PATH = '/robot/sendBySession';

/** Default session-webhook lifetime seen in every payload sample: about 90 minutes. */
export const DEFAULT_SESSION_WEBHOOK_TTL_MS = 5_400_000;

/** One entry of `atUsers`; the bot itself appears with `dingtalkId` only. */
export interface BotAtUser {
  dingtalkId: string;
  staffId?: string;
  unionId?: string;
}

/** `text` member of a `msgtype: 'text'` message, including the optional quote fields (§2.3). */
export interface BotTextContent {
  content: string;
  isReplyMsg?: boolean;
  repliedMsg?: unknown;
}

/** Decoded `data` of a bot-message CALLBACK frame. Unknown extra fields are allowed by DingTalk. */
export interface BotMessageData {
  msgId: string;
  msgtype: string;
  createAt: number;
  /** `'1'` = single chat with the bot, `'2'` = group. */
  conversationType: '1' | '2';
  conversationId: string;
  conversationTitle?: string;
  senderId: string;
  senderStaffId: string;
  senderNick: string;
  senderCorpId?: string;
  senderUnionId?: string;
  senderPlatform?: string;
  isAdmin?: boolean;
  chatbotCorpId: string;
  chatbotUserId: string;
  robotCode: string;
  isInAtList?: boolean;
  atUsers?: BotAtUser[];
  sessionWebhook: string;
  /** Epoch ms after which the session webhook answers errcode 300001. */
  sessionWebhookExpiredTime: number;
  openThreadId?: string;
  text?: BotTextContent;
  /** Present for every non-text msgtype (picture, richText, audio, video, file, …). */
  content?: unknown;
}

/**
 * Overrides for {@link makeBotMessage}. A key set to `undefined` removes that field from the payload
 * (for example `text: undefined` when building a `picture` message).
 */
export type BotMessageOverrides = { [K in keyof BotMessageData]?: BotMessageData[K] | undefined };

/** Where the generated session webhook points, and how long it lives. */
export interface BotMessageContext {
  /** Origin of the fake (`http://127.0.0.1:<port>`); the webhook is `${baseUrl}/robot/sendBySession?session=…`. */
  baseUrl: string;
  /** The bot's robotCode; equals the app's clientId for internal-app bots. */
  robotCode: string;
  /** @defaultValue {@link DEFAULT_SESSION_WEBHOOK_TTL_MS} */
  sessionWebhookTtlMs: number;
  /** Clock for `createAt`. @defaultValue `Date.now` */
  nowMs: () => number;
}

/** Context used when a builder is called without one (webhooks then point at the real host). */
export const DEFAULT_BOT_MESSAGE_CONTEXT = {
  baseUrl: 'https://oapi.dingtalk.com',
  robotCode: 'ding-test-client',
  sessionWebhookTtlMs: DEFAULT_SESSION_WEBHOOK_TTL_MS,
  nowMs: Date.now,
} as const satisfies BotMessageContext;

const DEFAULT_STAFF_ID = 'manager807';
const DEFAULT_NICK = '张三';
const DEFAULT_CORP_ID = 'dingc5344d64bd47d252';
const DEFAULT_GROUP_TITLE = '测试群';

function resolveContext(context: Partial<BotMessageContext> | undefined): BotMessageContext {
  return { ...DEFAULT_BOT_MESSAGE_CONTEXT, ...context };
}

/** Base64 of a hash, so the same seed always gives the same DingTalk-looking id. */
function stableBase64(seed: string, bytes: number): string {
  return createHash('sha256').update(seed).digest().subarray(0, bytes).toString('base64');
}

/** Unique DingTalk-style message id, e.g. `msgMxpQ+qegFQ4MpgOyu0UFrQ==`. */
export function newMsgId(): string {
  return `msg${randomBytes(16).toString('base64')}`;
}

/** Unique opaque session id for a session webhook. */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** Encrypted-looking `$:LWCP_v1:$…` id derived from `seed`. */
export function lwcpId(seed: string): string {
  return `$:LWCP_v1:$${stableBase64(`lwcp:${seed}`, 24)}`;
}

/** Single-chat conversation id of a user with the bot (stable per user and robot). */
export function dmConversationId(senderStaffId: string, robotCode: string): string {
  return `cid${stableBase64(`dm:${robotCode}:${senderStaffId}`, 16)}`;
}

/** Group conversation id (= openConversationId) derived from the group title. */
export function groupConversationId(title: string): string {
  return `cid${stableBase64(`group:${title}`, 16)}`;
}

/** Session webhook URL on `baseUrl` for `sessionId`. */
export function sessionWebhookUrl(baseUrl: string, sessionId: string): string {
  return `${baseUrl}${SESSION_WEBHOOK_PATH}?session=${encodeURIComponent(sessionId)}`;
}

/**
 * Session id of a webhook URL that points at `baseUrl`, or `undefined` when the URL is malformed, has no
 * session parameter, or belongs to another host.
 */
export function sessionIdFromWebhook(webhook: string, baseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(webhook);
  } catch {
    return undefined;
  }
  if (url.origin !== new URL(baseUrl).origin || url.pathname !== SESSION_WEBHOOK_PATH) return undefined;
  return url.searchParams.get('session') ?? undefined;
}

/**
 * Builds a complete bot-message payload: a DM text message `"hello"` from `manager807` unless
 * `overrides` say otherwise. `sessionWebhookExpiredTime` follows the final `createAt`.
 */
export function makeBotMessage(
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const ctx = resolveContext(context);
  const robotCode = overrides.robotCode ?? ctx.robotCode;
  const senderStaffId = overrides.senderStaffId ?? DEFAULT_STAFF_ID;
  const isGroup = overrides.conversationType === '2';
  const conversationId =
    overrides.conversationId ??
    (isGroup
      ? groupConversationId(overrides.conversationTitle ?? DEFAULT_GROUP_TITLE)
      : dmConversationId(senderStaffId, robotCode));
  const createAt = overrides.createAt ?? ctx.nowMs();
  const base: BotMessageData = {
    conversationId,
    chatbotCorpId: DEFAULT_CORP_ID,
    chatbotUserId: lwcpId(`bot:${robotCode}`),
    msgId: newMsgId(),
    senderNick: DEFAULT_NICK,
    isAdmin: false,
    senderStaffId,
    sessionWebhookExpiredTime: createAt + ctx.sessionWebhookTtlMs,
    createAt,
    senderCorpId: DEFAULT_CORP_ID,
    conversationType: '1',
    senderId: lwcpId(`user:${senderStaffId}`),
    sessionWebhook: sessionWebhookUrl(ctx.baseUrl, newSessionId()),
    robotCode,
    msgtype: 'text',
    text: { content: 'hello' },
  };
  if (!isGroup) base.openThreadId = conversationId;
  const message: Record<string, unknown> = { ...base, ...overrides };
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) Reflect.deleteProperty(message, key);
  }
  // The spread keeps every required key of `base` unless an override deleted it on purpose.
  return message as unknown as BotMessageData;
}

/** A single-chat (DM) text message with `content === text`. */
export function dmText(
  text: string,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  return makeBotMessage(
    { msgtype: 'text', text: { content: text }, ...overrides, conversationType: '1' },
    context,
  );
}

/**
 * A group text message that @-mentions the bot. DingTalk strips the mention but leaves the space after it,
 * so `content` is `' ' + text`.
 */
export function groupText(
  text: string,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const robotCode = overrides.robotCode ?? context?.robotCode ?? DEFAULT_BOT_MESSAGE_CONTEXT.robotCode;
  const title = overrides.conversationTitle ?? DEFAULT_GROUP_TITLE;
  return makeBotMessage(
    {
      conversationTitle: title,
      isInAtList: true,
      atUsers: [{ dingtalkId: overrides.chatbotUserId ?? lwcpId(`bot:${robotCode}`) }],
      msgtype: 'text',
      text: { content: ` ${text}` },
      ...overrides,
      conversationType: '2',
    },
    context,
  );
}

/**
 * One segment of a `richText` message (§2.2): `{ text }`, `{ type: 'picture', downloadCode }`,
 * `{ type: 'at', atName, atUserId }`, `{ type: 'video' | 'audio' | 'file', downloadCode, fileName }` or
 * anything else DingTalk may send. A plain string is shorthand for `{ text }`.
 */
export type RichTextElement = string | Readonly<Record<string, unknown>>;

/** The `pictureDownloadCode` that accompanies a `downloadCode` (an alternative code, §2.2). */
export function pictureDownloadCodeOf(downloadCode: string): string {
  return `pWj${stableBase64(`picture:${downloadCode}`, 12)}`;
}

/** Builds a non-text message: `text` removed, `content` set. */
function contentMessage(
  msgtype: string,
  content: unknown,
  overrides: BotMessageOverrides,
  context: Partial<BotMessageContext> | undefined,
): BotMessageData {
  return makeBotMessage({ text: undefined, ...overrides, msgtype, content }, context);
}

/** A `picture` message: `content: { pictureDownloadCode, downloadCode }` (a DM unless overridden). */
export function picture(
  downloadCode: string,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const content = { pictureDownloadCode: pictureDownloadCodeOf(downloadCode), downloadCode };
  return contentMessage('picture', content, overrides, context);
}

/**
 * A `richText` message: `content: { richText: [...] }`. Strings become `{ text }`; picture elements get a
 * `pictureDownloadCode` when they have none.
 */
export function richText(
  elements: readonly RichTextElement[],
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const segments = elements.map((element) => {
    if (typeof element === 'string') return { text: element };
    if (element['type'] === 'picture' && typeof element['downloadCode'] === 'string') {
      return { pictureDownloadCode: pictureDownloadCodeOf(element['downloadCode']), ...element };
    }
    return element;
  });
  return contentMessage('richText', { richText: segments }, overrides, context);
}

/** A `file` message (DMs only in real DingTalk): `content: { spaceId, fileName, downloadCode, fileId }`. */
export function fileMessage(
  downloadCode: string,
  fileName: string,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const fileId = String(parseInt(createHash('sha256').update(downloadCode).digest('hex').slice(0, 10), 16));
  const content = { spaceId: '2230000573', fileName, downloadCode, fileId };
  return contentMessage('file', content, overrides, context);
}

/** An `audio` message: `content: { downloadCode, recognition }` (DingTalk's speech-to-text). */
export function audioMessage(
  recognition: string,
  downloadCode: string,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  return contentMessage('audio', { downloadCode, recognition }, overrides, context);
}

/** A `video` message: `content: { duration, videoType, downloadCode }`; duration in seconds, as a string. */
export function videoMessage(
  downloadCode: string,
  video: { durationSeconds?: number; videoType?: string } = {},
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  const content = {
    duration: String(video.durationSeconds ?? 5),
    videoType: video.videoType ?? 'mp4',
    downloadCode,
  };
  return contentMessage('video', content, overrides, context);
}

/** The quoted message inside `text.repliedMsg` (§2.3). `content` may be an object or a JSON string. */
export interface RepliedMessage {
  msgType: string;
  msgId: string;
  senderId: string;
  createdAt: number;
  content?: unknown;
}

/**
 * A quoted message for {@link quotedText}: `msgType` `text` (`content: { text }`), `picture`
 * (`{ downloadCode }`), `file` (`{ spaceId, fileName, downloadCode, fileId }`), `richText`
 * (`{ richText: [...] }`) or any other type DingTalk sends. `asJsonString` encodes `content` as a JSON
 * string, as some deliveries do.
 */
export function repliedMessage(
  msgType: string,
  content: unknown,
  options: { asJsonString?: boolean; msgId?: string; senderStaffId?: string; createdAt?: number } = {},
): RepliedMessage {
  return {
    msgType,
    msgId: options.msgId ?? newMsgId(),
    senderId: lwcpId(`user:${options.senderStaffId ?? DEFAULT_STAFF_ID}`),
    createdAt: options.createdAt ?? Date.now(),
    content: options.asJsonString === true ? JSON.stringify(content) : content,
  };
}

/** A text message that quotes `replied`: `text: { content, isReplyMsg: true, repliedMsg }`. */
export function quotedText(
  text: string,
  replied: RepliedMessage,
  overrides: BotMessageOverrides = {},
  context?: Partial<BotMessageContext>,
): BotMessageData {
  return makeBotMessage(
    { msgtype: 'text', text: { content: text, isReplyMsg: true, repliedMsg: replied }, ...overrides },
    context,
  );
}
