/**
 * Errors an OpenClaw chat turn ends with besides the shared `GatewayError`s (the caller's abort, a
 * stream failure with its details), and the one mapping from whatever a turn threw to those errors.
 */
import {
  describeCause,
  GatewayError,
  OpenClawHttpError,
  OpenClawStreamError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../errors.js';
import { SseLineTooLongError } from './sse-parser.js';

/**
 * The caller aborted the turn through `ChatTurnRequest.signal`, or `OpenClawChatClient.close` ended it.
 * Not a failure, so not a `GatewayError`; `name` is `'AbortError'` so generic abort checks recognise
 * it, and `cause` is the signal's reason.
 */
export class TurnAbortedError extends Error {
  constructor(reason: unknown) {
    super(`OpenClaw turn aborted: ${describeCause(reason)}`, { cause: reason });
    this.name = 'AbortError';
  }
}

/** Why a stream failed: an error event, an unfinished stream, an oversized line, an unreadable JSON answer. */
export type OpenClawStreamFailureKind = 'error-event' | 'incomplete' | 'oversized' | 'malformed-response';

/** An {@link OpenClawStreamError} with details; every stream failure of the chat client has this class. */
export class OpenClawTurnStreamError extends OpenClawStreamError {
  readonly kind: OpenClawStreamFailureKind;
  /** Characters of text already yielded when the stream failed. */
  readonly partialTextChars: number;
  /** The `type` of an OpenClaw error event, e.g. `api_error`. */
  readonly apiType: string | undefined;

  constructor(
    message: string,
    details: { kind: OpenClawStreamFailureKind; partialTextChars: number; apiType?: string | undefined },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.kind = details.kind;
    this.partialTextChars = details.partialTextChars;
    this.apiType = details.apiType;
  }
}

/**
 * What a turn knew when it failed. `stop` is set when the turn was stopped on purpose: its deadline, the
 * caller's signal, or the client closing.
 * @internal
 */
export interface TurnFailureFacts {
  readonly stop: 'timeout' | 'caller' | 'closed' | undefined;
  readonly stopReason: unknown;
  /** Response headers arrived. */
  readonly hasResponse: boolean;
  readonly bodyBytes: number;
  /** Characters of text already yielded. */
  readonly textChars: number;
}

/**
 * Maps whatever a turn threw to the one error the caller sees: {@link OpenClawHttpError},
 * {@link OpenClawTimeoutError} (of `timeoutMs`), {@link TurnAbortedError}, another `GatewayError` as is,
 * {@link OpenClawUnavailableError} (nothing received) or {@link OpenClawTurnStreamError}.
 * @internal
 */
export function toTurnError(error: unknown, facts: TurnFailureFacts, timeoutMs: number): Error {
  // A status already received is the most precise answer, even if the deadline hit while reading it.
  if (error instanceof OpenClawHttpError) return error;
  if (facts.stop === 'timeout') return new OpenClawTimeoutError(timeoutMs);
  if (facts.stop !== undefined) return new TurnAbortedError(facts.stopReason);
  if (error instanceof GatewayError) return error;
  if (error instanceof SseLineTooLongError) {
    return new OpenClawTurnStreamError(
      `OpenClaw stream line exceeds ${error.maxLineChars} characters`,
      { kind: 'oversized', partialTextChars: facts.textChars },
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new OpenClawTimeoutError(timeoutMs);
  }
  if (!facts.hasResponse || facts.bodyBytes === 0) return new OpenClawUnavailableError(error);
  return new OpenClawTurnStreamError(
    `OpenClaw stream broke after ${facts.textChars} characters: ${describeCause(error)}`,
    { kind: 'incomplete', partialTextChars: facts.textChars },
    { cause: error },
  );
}
