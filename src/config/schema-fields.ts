// Building blocks shared by the config section schemas.
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const THINKING_LEVELS = ['off', 'minimal', 'low', 'medium', 'high'] as const;

export const httpUrl = z
  .string()
  .refine((value) => /^https?:\/\/[^/\s]+/i.test(value) && URL.canParse(value), 'must be an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

export const wsUrl = z
  .string()
  .refine((value) => /^wss?:\/\/[^/\s]+/i.test(value) && URL.canParse(value), 'must be a ws(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

export const positiveMs = (defaultMs: number, description: string) =>
  z.number().int().positive().max(86_400_000).default(defaultMs).describe(description);

export const connectionField = (description: string) =>
  z.number().int().positive().max(86_400_000).describe(description);
