import { createRequire } from 'node:module';

import pino, { type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

import type { LogLevel } from '../config/schema.js';
import { REDACT_PATHS, REDACTED, maskUrlsDeep, maskUrlsInText } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly version: string;
  /** Where lines go. @defaultValue stdout */
  readonly destination?: DestinationStream;
  /**
   * Human-readable lines instead of JSON (for a person at a terminal).
   * @defaultValue whether stdout is a terminal
   */
  readonly pretty?: boolean;
}

type SerializedError = ReturnType<typeof pino.stdSerializers.errWithCause>;

/** The standard error serializer, with URLs quoted in messages and stacks masked (also in causes). */
function serializeError(error: Error): SerializedError {
  const serialized = pino.stdSerializers.errWithCause(error);
  const mask = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    for (const key of ['message', 'stack'] as const) {
      const value = record[key];
      if (typeof value === 'string') record[key] = maskUrlsInText(value);
    }
    mask(record['cause']);
  };
  mask(serialized);
  return serialized;
}

/**
 * The root logger: JSON lines with `service` and `version` (pretty-printed for a terminal), secret
 * paths censored, URLs in any logged string stripped of their query (webhook sessions, tickets,
 * signatures), errors serialized with their causes. Components log through `logger.child({ component })`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    level: options.level,
    base: { service: 'openclaw-dingtalk-gateway', version: options.version },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: serializeError },
    formatters: { log: (object: Record<string, unknown>) => maskUrlsDeep(object) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const isPretty = options.pretty ?? process.stdout.isTTY;
  if (!isPretty)
    return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  // Loaded only for a terminal: containers log JSON and do not pay for the pretty-printer.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const stream = pretty({
    translateTime: 'SYS:standard',
    ignore: 'pid,hostname,service,version',
    // Colors only on the real terminal; an injected destination gets plain text.
    colorize: options.destination === undefined,
    destination: options.destination ?? 1,
    sync: true,
  });
  return pino(pinoOptions, stream);
}
