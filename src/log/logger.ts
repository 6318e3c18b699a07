import { createRequire } from 'node:module';

import pino, { type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

import type { LogLevel } from '../config/schema.js';
import { REDACTED, isSecretKey, scrubForLog } from './redact.js';

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

/** Scrubs a serialized error in place (the serializer made it): causes, messages, stacks, own fields. */
function scrubSerializedError(node: Record<string, unknown>): void {
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (key === 'cause' && typeof value === 'object' && value !== null)
      scrubSerializedError(value as Record<string, unknown>);
    else node[key] = isSecretKey(key) ? REDACTED : scrubForLog(value);
  }
}

/**
 * The standard error serializer, with URLs quoted in messages and stacks masked (also in causes) and
 * the secret-named fields an error carries censored.
 */
function serializeError(error: Error): SerializedError {
  const serialized = pino.stdSerializers.errWithCause(error);
  scrubSerializedError(serialized);
  return serialized;
}

/**
 * The root logger: JSON lines with `service` and `version` (pretty-printed for a terminal), secret
 * keys censored at any depth, URLs in any logged string stripped of their query (webhook sessions, tickets,
 * signatures), errors serialized with their causes. Components log through `logger.child({ component })`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    level: options.level,
    base: { service: 'openclaw-dingtalk-gateway', version: options.version },
    serializers: { err: serializeError },
    // Secrets are censored by key here and in child bindings (below) rather than with pino's
    // `redact` paths: those ran on every child logger's bindings, a third of the gateway's
    // allocations per message (BENCHMARKS.md).
    formatters: { log: (object: Record<string, unknown>) => scrubForLog(object) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const isPretty = options.pretty ?? process.stdout.isTTY;
  if (!isPretty)
    return withScrubbedChildBindings(
      options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination),
    );
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
  return withScrubbedChildBindings(pino(pinoOptions, stream));
}

/**
 * `root`, whose children (and their children: pino children inherit from their parent) get their
 * bindings through {@link scrubForLog}; pino's `log` formatter only sees the fields of a log call.
 */
function withScrubbedChildBindings(root: Logger): Logger {
  // Called with the parent as `this` (below), as pino's own child() expects.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const pinoChild = root.child;
  root.child = function (this: Logger, bindings, childOptions) {
    return pinoChild.call(this, scrubForLog(bindings), childOptions);
  } as Logger['child'];
  return root;
}
