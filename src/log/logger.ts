import pino, { type DestinationStream, type Logger } from 'pino';

import type { LogLevel } from '../config/schema.js';
import { REDACT_PATHS, REDACTED } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly version: string;
  /** Where JSON lines go; default stdout, pretty-printed when stdout is a terminal. */
  readonly destination?: DestinationStream;
}

/**
 * The root logger: JSON lines with `service` and `version`, secret paths censored, errors
 * serialized with their causes. Components log through `logger.child({ component })`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    level: options.level,
    base: { service: 'openclaw-dingtalk-gateway', version: options.version },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: pino.stdSerializers.errWithCause },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination !== undefined) return pino(pinoOptions, options.destination);
  if (process.stdout.isTTY) {
    return pino({
      ...pinoOptions,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } },
    });
  }
  return pino(pinoOptions);
}
