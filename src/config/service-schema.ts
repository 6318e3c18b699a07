// The service-level sections of the config file: everything but `channels` (channel-schema.ts) and `log`.
import { z } from 'zod';

import { httpUrl, positiveMs, wsUrl } from './schema-fields.js';

export const ServerSectionSchema = z
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
  });

export const OpenClawSectionSchema = z
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
  });

export const StateSectionSchema = z
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
    sweepIntervalMs: positiveMs(5_000, 'How often unfinished conversations without a worker are looked for.'),
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
  });

export const DeliverySectionSchema = z
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
  });

export const MediaSectionSchema = z
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
  });
