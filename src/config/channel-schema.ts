import { z } from 'zod';

import { THINKING_LEVELS, connectionField, httpUrl } from './schema-fields.js';

/** Timing fields of one account's Stream connection, without defaults (all in milliseconds). */
const connectionShape = {
  openTimeoutMs: connectionField('Deadline for connections/open and for the WebSocket handshake.'),
  heartbeatIntervalMs: connectionField('Interval of WebSocket control pings sent to DingTalk.'),
  heartbeatTimeoutMs: connectionField(
    'The socket counts as dead when nothing (frame or pong) arrived for this long.',
  ),
  reconnectInitialDelayMs: connectionField('First reconnect delay; doubles per failed attempt.'),
  reconnectMaxDelayMs: connectionField('Cap of the reconnect delay.'),
  stableAfterMs: connectionField(
    'A connection open this long resets the reconnect attempt counter (defeats accept-then-drop loops).',
  ),
  drainTimeoutMs: connectionField(
    'After a SYSTEM disconnect, the old socket is closed once in-flight frames are acked or after this.',
  ),
} as const;

/** Defaults of the Stream connection timings. */
export const CONNECTION_DEFAULTS = {
  openTimeoutMs: 10_000,
  heartbeatIntervalMs: 20_000,
  heartbeatTimeoutMs: 60_000,
  reconnectInitialDelayMs: 1_000,
  reconnectMaxDelayMs: 60_000,
  stableAfterMs: 30_000,
  drainTimeoutMs: 10_000,
} as const;

/** Stream connection timings at the channel root, with defaults. */
export const ConnectionSchema = z
  .strictObject({
    openTimeoutMs: connectionShape.openTimeoutMs.default(CONNECTION_DEFAULTS.openTimeoutMs),
    heartbeatIntervalMs: connectionShape.heartbeatIntervalMs.default(CONNECTION_DEFAULTS.heartbeatIntervalMs),
    heartbeatTimeoutMs: connectionShape.heartbeatTimeoutMs.default(CONNECTION_DEFAULTS.heartbeatTimeoutMs),
    reconnectInitialDelayMs: connectionShape.reconnectInitialDelayMs.default(
      CONNECTION_DEFAULTS.reconnectInitialDelayMs,
    ),
    reconnectMaxDelayMs: connectionShape.reconnectMaxDelayMs.default(CONNECTION_DEFAULTS.reconnectMaxDelayMs),
    stableAfterMs: connectionShape.stableAfterMs.default(CONNECTION_DEFAULTS.stableAfterMs),
    drainTimeoutMs: connectionShape.drainTimeoutMs.default(CONNECTION_DEFAULTS.drainTimeoutMs),
  })
  .describe('Stream connection timings.');

/** Per-sender intake limit (both fields required once given at the root; merged key by key per account). */
const senderRateLimitShape = {
  messages: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .describe(
      'Messages one sender may send per window; more are ACKed and dropped without a reply (0 = no limit).',
    ),
  windowMs: connectionField('The per-sender rate window.'),
} as const;

/** Defaults of the per-sender intake limit. */
export const SENDER_RATE_LIMIT_DEFAULTS = { messages: 30, windowMs: 60_000 } as const;

/** Per-sender intake limit at the channel root, with defaults. */
export const SenderRateLimitSchema = z
  .strictObject({
    messages: senderRateLimitShape.messages.default(SENDER_RATE_LIMIT_DEFAULTS.messages),
    windowMs: senderRateLimitShape.windowMs.default(SENDER_RATE_LIMIT_DEFAULTS.windowMs),
  })
  .describe('Per-sender flood limit applied when a message arrives.');

/**
 * Hosts inbound files are downloaded from (messageFiles/download hands out presigned Alibaba OSS
 * URLs). The hosts of `apiBase` and `oapiBase` are always allowed on top.
 */
export const DEFAULT_DOWNLOAD_HOSTS = ['*.aliyuncs.com', '*.dingtalk.com', '*.dingtalkapps.com'] as const;

const hostPattern = z
  .string()
  .regex(
    /^(?:(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/,
    'must be a host name, `*.` and a domain, or an IP address',
  );

const cardShape = {
  templateId: z.string().min(1).describe('AI card template (its streaming variable holds the markdown).'),
  streamingKey: z.string().min(1).describe('Template variable the reply text streams into.'),
  maxCallsPerReply: z
    .number()
    .int()
    .min(2)
    .max(50)
    .describe('Card API calls per reply, create and finish included.'),
  firstUpdateAfterMs: z.number().int().positive().describe('Wait before the first content update.'),
  intervalGrowth: z
    .number()
    .min(1)
    .max(10)
    .describe('Each pause between updates is this many times the previous.'),
  callsPerSecond: z.number().positive().max(1_000).describe('Card API calls per second for the whole app.'),
  cooldownMs: z
    .number()
    .int()
    .positive()
    .describe('After a throttling or permission error, cards are not used for this long.'),
} as const;

const indicatorShape = {
  reaction: z
    .boolean()
    .describe('Put a reaction on the user message while the agent works (not in card mode).'),
  reactionName: z.string().min(1).describe('The reaction text.'),
  noticeAfterMs: z
    .number()
    .int()
    .min(0)
    .describe('Send a short "working on it" message if nothing was sent after this long; 0 = off.'),
} as const;

/** Keys shared by the channel root and every `accounts.<id>` entry. */
const accountShape = {
  enabled: z.boolean().describe('Run this account.'),
  name: z.string().min(1).describe('Display name used in logs and /status.'),
  clientId: z.string().min(1).describe('DingTalk app Client ID (AppKey); also the robotCode.'),
  clientSecret: z.string().min(1).describe('DingTalk app Client Secret (secret).'),
  clientSecretFile: z
    .string()
    .min(1)
    .describe('File holding the client secret (used when clientSecret is unset).'),
  replyMode: z
    .enum(['text', 'markdown', 'card'])
    .describe('text or markdown messages, or a streaming AI card (falls back to markdown).'),
  maxChars: z.number().int().min(50).max(6_000).describe('Longest reply message; longer replies are split.'),
  tableMode: z
    .enum(['code', 'off'])
    .describe('`code` wraps markdown tables in a code block (DingTalk cannot render tables).'),
  allowFrom: z
    .array(z.string().min(1))
    .describe('Allowed senders (senderStaffId or senderId); empty = everyone.'),
  requireMention: z.boolean().describe('Groups: answer only when the bot is @-mentioned.'),
  requirePrefix: z
    .string()
    .min(1)
    .describe('Groups: also answer messages starting with this prefix (stripped).'),
  isolateContextPerUserInGroup: z
    .boolean()
    .describe('Groups: one agent session per sender instead of per group.'),
  mentionBypassUsers: z
    .array(z.string().min(1))
    .describe('Senders answered in groups without mention or prefix.'),
  responsePrefix: z.string().describe('Text put before the first reply of each session.'),
  showToolStatus: z.boolean().describe('Show a line per tool call (needs the OpenClaw WebSocket transport).'),
  showToolResult: z.boolean().describe('Also show tool output (needs the OpenClaw WebSocket transport).'),
  thinking: z
    .enum(THINKING_LEVELS)
    .describe('Thinking level per turn (needs the OpenClaw WebSocket transport).'),
  apiBase: httpUrl.describe('DingTalk new-style API origin.'),
  oapiBase: httpUrl.describe('DingTalk legacy oapi origin (session webhooks, media upload).'),
  openPath: z.string().startsWith('/').describe('Path of the Stream connections/open endpoint on apiBase.'),
  subscriptionsJson: z
    .string()
    .min(2)
    .describe('JSON array of {type, topic} replacing the default subscriptions.'),
  mediaRoots: z.array(z.string().min(1)).describe('Folders the agent may send files from.'),
  maxInboundChars: z
    .number()
    .int()
    .min(100)
    .max(1_000_000)
    .describe('Longest message text handed to the agent; the rest is cut off and the agent is told so.'),
  senderRateLimit: z.strictObject(senderRateLimitShape).describe('Per-sender flood limit.'),
  downloadHosts: z
    .array(hostPattern)
    .describe(
      'Hosts inbound files may be downloaded from (`*.` matches subdomains); apiBase and oapiBase hosts are always allowed.',
    ),
  commands: z
    .strictObject({ enabled: z.boolean().describe('Answer /new, /stop, /status and /help in chat.') })
    .describe('Chat commands.'),
  card: z.strictObject(cardShape).describe('Streaming AI card (replyMode card).'),
  indicator: z.strictObject(indicatorShape).describe('Shows that the bot is working.'),
} as const;

/** The public AI markdown card template (dingtalk-protocol.md §7.2) and a budget of 6 calls per reply. */
export const CARD_DEFAULTS = {
  templateId: '382e4302-551d-4880-bf29-a30acfab2e71.schema',
  streamingKey: 'msgContent',
  maxCallsPerReply: 6,
  firstUpdateAfterMs: 1_000,
  intervalGrowth: 2.5,
  callsPerSecond: 20,
  cooldownMs: 600_000,
} as const;

export const INDICATOR_DEFAULTS = { reaction: false, reactionName: '🤔思考中', noticeAfterMs: 0 } as const;

/**
 * A strict object whose every field has its own default, so a partial section (`card: { cooldownMs: 1 }`)
 * keeps the defaults of the fields it leaves out.
 */
function withFieldDefaults<Shape extends Record<string, z.ZodType>>(
  shape: Shape,
  defaults: { readonly [K in keyof Shape]: z.output<Shape[K]> },
) {
  const fields = Object.fromEntries(
    Object.entries(shape).map(([key, field]) => [key, field.default(defaults[key] as never)]),
  ) as { [K in keyof Shape]: z.ZodDefault<Shape[K]> };
  return z.strictObject(fields).default(defaults as never);
}

const ACCOUNT_DEFAULTS = {
  enabled: true,
  replyMode: 'markdown',
  maxChars: 1800,
  tableMode: 'code',
  allowFrom: [],
  requireMention: true,
  isolateContextPerUserInGroup: false,
  mentionBypassUsers: [],
  showToolStatus: false,
  showToolResult: false,
  thinking: 'off',
  apiBase: 'https://api.dingtalk.com',
  oapiBase: 'https://oapi.dingtalk.com',
  openPath: '/v1.0/gateway/connections/open',
  mediaRoots: [],
} as const;

/** One `accounts.<id>` entry: every key optional, inherited from the channel root when absent. */
// No defaults in here: an absent key must inherit the channel root's value, not a default.
export const AccountOverrideSchema = z
  .strictObject({
    ...accountShape,
    connection: z.strictObject(connectionShape).partial(),
    senderRateLimit: z.strictObject(senderRateLimitShape).partial(),
  })
  .partial();

export type AccountOverride = z.infer<typeof AccountOverrideSchema>;

export const DingTalkChannelSchema = z.strictObject({
  enabled: accountShape.enabled.default(ACCOUNT_DEFAULTS.enabled),
  name: accountShape.name.optional(),
  clientId: accountShape.clientId.optional(),
  clientSecret: accountShape.clientSecret.optional(),
  clientSecretFile: accountShape.clientSecretFile.optional(),
  replyMode: accountShape.replyMode.default(ACCOUNT_DEFAULTS.replyMode),
  maxChars: accountShape.maxChars.default(ACCOUNT_DEFAULTS.maxChars),
  tableMode: accountShape.tableMode.default(ACCOUNT_DEFAULTS.tableMode),
  allowFrom: accountShape.allowFrom.default([]),
  requireMention: accountShape.requireMention.default(ACCOUNT_DEFAULTS.requireMention),
  requirePrefix: accountShape.requirePrefix.optional(),
  isolateContextPerUserInGroup: accountShape.isolateContextPerUserInGroup.default(false),
  mentionBypassUsers: accountShape.mentionBypassUsers.default([]),
  responsePrefix: accountShape.responsePrefix.optional(),
  showToolStatus: accountShape.showToolStatus.default(false),
  showToolResult: accountShape.showToolResult.default(false),
  thinking: accountShape.thinking.default(ACCOUNT_DEFAULTS.thinking),
  apiBase: accountShape.apiBase.default(ACCOUNT_DEFAULTS.apiBase),
  oapiBase: accountShape.oapiBase.default(ACCOUNT_DEFAULTS.oapiBase),
  openPath: accountShape.openPath.default(ACCOUNT_DEFAULTS.openPath),
  subscriptionsJson: accountShape.subscriptionsJson.optional(),
  mediaRoots: accountShape.mediaRoots.default([]),
  maxInboundChars: accountShape.maxInboundChars.default(20_000),
  senderRateLimit: SenderRateLimitSchema.default(SENDER_RATE_LIMIT_DEFAULTS),
  downloadHosts: accountShape.downloadHosts.default([...DEFAULT_DOWNLOAD_HOSTS]),
  commands: accountShape.commands.default({ enabled: true }),
  card: withFieldDefaults(cardShape, CARD_DEFAULTS),
  indicator: withFieldDefaults(indicatorShape, INDICATOR_DEFAULTS),
  connection: ConnectionSchema.default(CONNECTION_DEFAULTS),
  accounts: z
    .record(
      z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'account ids use letters, digits, _ and -'),
      AccountOverrideSchema,
    )
    .default({})
    .describe(
      'Extra bots; each inherits the channel keys above and overrides them. The root is account `default`.',
    ),
});

export type DingTalkChannelConfig = z.infer<typeof DingTalkChannelSchema>;
