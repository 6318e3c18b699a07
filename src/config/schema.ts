import { z } from 'zod';

/** Config keys whose values are secrets: masked by `check-config`, redacted from logs. */
export const SECRET_KEYS = ['clientSecret', 'token', 'sendApiToken', 'redisUrl'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const THINKING_LEVELS = ['off', 'minimal', 'low', 'medium', 'high'] as const;

const httpUrl = z
  .string()
  .refine((value) => /^https?:\/\/[^/\s]+/i.test(value) && URL.canParse(value), 'must be an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

const wsUrl = z
  .string()
  .refine((value) => /^wss?:\/\/[^/\s]+/i.test(value) && URL.canParse(value), 'must be a ws(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

const positiveMs = (defaultMs: number, description: string) =>
  z.number().int().positive().max(86_400_000).default(defaultMs).describe(description);

const connectionField = (description: string) =>
  z.number().int().positive().max(86_400_000).describe(description);

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

/** The whole configuration file (JSON5) after env overlays, before account resolution. */
export const ConfigFileSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address the health HTTP server binds to.'),
      port: z.number().int().min(0).max(65_535).default(8080),
      shutdownGraceMs: positiveMs(20_000, 'How long SIGTERM waits for running turns to finish.'),
      sendApiToken: z
        .string()
        .min(16, 'use at least 16 characters')
        .optional()
        .describe('Bearer token of POST /v1/messages (secret); the API is off without one.'),
      sendApiTokenFile: z
        .string()
        .min(1)
        .optional()
        .describe('File holding the send API token (used when sendApiToken is unset).'),
      sendApiRateLimitRequests: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .default(60)
        .describe('Send API requests allowed per rate window; more are answered 429.'),
      sendApiRateLimitWindowMs: positiveMs(60_000, 'The send API rate window.'),
    })
    .default({
      host: '127.0.0.1',
      port: 8080,
      shutdownGraceMs: 20_000,
      sendApiRateLimitRequests: 60,
      sendApiRateLimitWindowMs: 60_000,
    }),
  openclaw: z
    .strictObject({
      baseUrl: httpUrl.default('http://127.0.0.1:18789').describe('OpenClaw gateway HTTP origin.'),
      token: z.string().min(1).optional().describe('OpenClaw gateway token (secret).'),
      tokenFile: z
        .string()
        .min(1)
        .optional()
        .describe('File holding the gateway token (used when token is unset).'),
      agentId: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/)
        .default('main')
        .describe('OpenClaw agent answering.'),
      maxConcurrentTurns: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(64)
        .describe(
          'Agent turns running at once; more conversations wait for a slot (memory and OpenClaw load stay bounded).',
        ),
      timeoutMs: positiveMs(600_000, 'Longest time one agent turn may take.'),
      connectTimeoutMs: positiveMs(10_000, 'TCP/TLS connect deadline towards OpenClaw.'),
      transport: z
        .enum(['http', 'ws'])
        .default('http')
        .describe(
          'http: the OpenAI-compatible chat completions endpoint (text only). ws: the WebSocket gateway ' +
            'protocol (tool status and results, thinking, abort, reset, artifacts).',
        ),
      wsUrl: wsUrl
        .optional()
        .describe('WebSocket URL of the gateway (transport ws); default: baseUrl with ws:/wss:.'),
      requestTimeoutMs: positiveMs(
        30_000,
        'Deadline of one WebSocket request and of one artifact download (transport ws).',
      ),
      deviceIdentity: z
        .enum(['auto', 'always', 'off'])
        .default('auto')
        .describe(
          'Send a signed Ed25519 device identity (transport ws): auto = when wsUrl is not loopback, where ' +
            'OpenClaw needs a paired device.',
        ),
      deviceIdentityFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          'The device key and its pairing token (transport ws); default <state.dir>/openclaw-device.json.',
        ),
      requestAdminScope: z
        .boolean()
        .default(true)
        .describe('Ask for operator.admin (transport ws), which sessions.reset (/new) needs.'),
    })
    .default({
      baseUrl: 'http://127.0.0.1:18789',
      agentId: 'main',
      maxConcurrentTurns: 64,
      timeoutMs: 600_000,
      connectTimeoutMs: 10_000,
      transport: 'http',
      requestTimeoutMs: 30_000,
      deviceIdentity: 'auto',
      requestAdminScope: true,
    }),
  state: z
    .strictObject({
      dir: z.string().min(1).default('./state').describe('Folder for durable state.'),
      dedupeTtlMs: z
        .number()
        .int()
        .min(600_000)
        .max(7 * 86_400_000)
        .default(600_000)
        .describe('How long an answered msgId stays remembered (at least 10 minutes).'),
      leaseTtlMs: positiveMs(
        30_000,
        'A replica answering a conversation holds its lease this long between renewals; after a crash another replica takes over once it expired.',
      ),
      sweepIntervalMs: positiveMs(
        5_000,
        'How often unfinished conversations without a worker are looked for.',
      ),
      redisUrl: z
        .string()
        .refine(
          (value) => /^rediss?:\/\/\S+$/i.test(value) && URL.canParse(value),
          'must be a redis:// or rediss:// URL',
        )
        .optional()
        .describe(
          'Redis shared by several replicas (may carry a password: secret); when set, state lives there instead of state.dir.',
        ),
      redisKeyPrefix: z
        .string()
        .min(1)
        .max(100)
        .default('dtgw:')
        .describe('Put before every Redis key, so several gateways can share one Redis.'),
    })
    .default({
      dir: './state',
      dedupeTtlMs: 600_000,
      leaseTtlMs: 30_000,
      sweepIntervalMs: 5_000,
      redisKeyPrefix: 'dtgw:',
    }),
  delivery: z
    .strictObject({
      maxMessageAgeMs: positiveMs(
        900_000,
        'A message still unanswered this long after it arrived (e.g. after downtime) gets a short apology instead of a late answer.',
      ),
      rateLimitMessages: z
        .number()
        .int()
        .min(1)
        .max(1_000)
        .default(20)
        .describe(
          'Reply messages per conversation per rate window; more wait (and are coalesced), none are dropped.',
        ),
      rateLimitWindowMs: positiveMs(60_000, 'The rate window.'),
      maxQueuePerConversation: z
        .number()
        .int()
        .min(1)
        .max(1_000)
        .default(10)
        .describe('Messages waiting per conversation; beyond it the sender is told the bot is busy.'),
      webhookSafetyMarginMs: positiveMs(
        300_000,
        'A session webhook is not used this close to its expiry; the proactive API is used instead.',
      ),
      sendAttempts: z.number().int().min(1).max(20).default(4).describe('Tries per reply message and route.'),
      turnAttempts: z
        .number()
        .int()
        .min(1)
        .max(10)
        .default(3)
        .describe('Tries per agent turn when OpenClaw fails before streaming anything.'),
    })
    .default({
      maxMessageAgeMs: 900_000,
      rateLimitMessages: 20,
      rateLimitWindowMs: 60_000,
      maxQueuePerConversation: 10,
      webhookSafetyMarginMs: 300_000,
      sendAttempts: 4,
      turnAttempts: 3,
    }),
  media: z
    .strictObject({
      maxInboundFileBytes: z
        .number()
        .int()
        .positive()
        .default(10 * 1024 * 1024)
        .describe('Largest picture or file downloaded from a user message for the agent.'),
      maxInboundFiles: z
        .number()
        .int()
        .min(0)
        .max(8)
        .default(8)
        .describe('Pictures and files per message handed to the agent (OpenClaw accepts up to 8 images).'),
      inlineTextMaxBytes: z
        .number()
        .int()
        .min(0)
        .default(65_536)
        .describe('Text-like files up to this size are given to the agent as text.'),
      maxOutboundFileBytes: z
        .number()
        .int()
        .positive()
        .default(20 * 1024 * 1024)
        .describe(
          'Largest file the agent may send (DingTalk caps images, videos and files at 20 MB, voice at 2 MB).',
        ),
      allowRemoteUrls: z
        .boolean()
        .default(false)
        .describe('Let the agent attach http(s) URLs (fetched by the gateway).'),
      allowPrivateNetworks: z
        .boolean()
        .default(false)
        .describe('Let attached URLs point at private, loopback or link-local addresses (off: SSRF guard).'),
      fetchTimeoutMs: positiveMs(30_000, 'Deadline for downloading one attachment.'),
    })
    .default({
      maxInboundFileBytes: 10 * 1024 * 1024,
      maxInboundFiles: 8,
      inlineTextMaxBytes: 65_536,
      maxOutboundFileBytes: 20 * 1024 * 1024,
      allowRemoteUrls: false,
      allowPrivateNetworks: false,
      fetchTimeoutMs: 30_000,
    }),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).default({ level: 'info' }),
  channels: z
    .strictObject({ dingtalk: DingTalkChannelSchema.default(DingTalkChannelSchema.parse({})) })
    .default({ dingtalk: DingTalkChannelSchema.parse({}) }),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type ConnectionConfig = z.infer<typeof ConnectionSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];
