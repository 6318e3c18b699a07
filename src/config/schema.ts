import { z } from 'zod';

import { type ConnectionSchema, DingTalkChannelSchema } from './channel-schema.js';
import { LOG_LEVELS, type THINKING_LEVELS } from './schema-fields.js';
import {
  DeliverySectionSchema,
  MediaSectionSchema,
  OpenClawSectionSchema,
  ServerSectionSchema,
  StateSectionSchema,
} from './service-schema.js';

export * from './channel-schema.js';

/** Config keys whose values are secrets: masked by `check-config`, redacted from logs. */
export const SECRET_KEYS = ['clientSecret', 'token', 'sendApiToken', 'redisUrl'] as const;

/** The whole configuration file (JSON5) after env overlays, before account resolution. */
export const ConfigFileSchema = z.strictObject({
  server: ServerSectionSchema,
  openclaw: OpenClawSectionSchema,
  state: StateSectionSchema,
  delivery: DeliverySectionSchema,
  media: MediaSectionSchema,
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).default({ level: 'info' }),
  channels: z
    .strictObject({ dingtalk: DingTalkChannelSchema.default(DingTalkChannelSchema.parse({})) })
    .default({ dingtalk: DingTalkChannelSchema.parse({}) }),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type ConnectionConfig = z.infer<typeof ConnectionSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];
