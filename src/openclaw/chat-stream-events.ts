/**
 * Pure interpretation of OpenClaw's chat completions answers: one SSE event of the stream, or a whole
 * non-streamed JSON answer, becomes text, a finish reason, usage, `[DONE]`, a skip or a stream error.
 */
import { bodySnippet } from '../errors.js';
import { OpenClawTurnStreamError } from './chat-turn-errors.js';
import { apiMessageOf, parseJson } from './http-answer.js';
import { ChatCompletion, ChatCompletionChunk, OpenClawErrorBody, type ChatUsage } from './schema.js';
import type { SseEvent } from './sse-parser.js';

/** A stream event that was skipped because it could not be understood. */
export interface OpenClawProtocolWarning {
  readonly kind: 'malformed-json' | 'unexpected-shape' | 'unknown-event';
  /** Start of the offending data; may contain assistant text, so log it at debug level only. */
  readonly snippet: string;
}

/** What one chunk or answer adds to the turn; an `undefined` member changes nothing. */
export interface ChatAnswerPart {
  /** Assistant text to yield; never the empty string. */
  readonly text: string | undefined;
  readonly finishReason: string | undefined;
  readonly usage: ChatUsage | undefined;
}

/** The meaning of one SSE event: the `[DONE]` marker, an event to skip with a warning, or a part. */
export type ChatStreamStep =
  | { readonly kind: 'done' }
  | {
      readonly kind: 'skipped';
      readonly warning: OpenClawProtocolWarning['kind'];
      /** The data the warning is about (the event type for an unknown event). */
      readonly data: string;
    }
  | { readonly kind: 'part'; readonly part: ChatAnswerPart };

/**
 * Interprets one SSE event of the stream. Choice 0 is the answer. Throws
 * {@link OpenClawTurnStreamError} (`error-event`, with `partialTextChars`) for an `event: error` or a
 * payload carrying an `error` member.
 */
export function interpretStreamEvent(event: SseEvent, partialTextChars: number): ChatStreamStep {
  if (event.type === 'error') {
    throw streamErrorEvent(parseJson(event.data) ?? event.data, partialTextChars);
  }
  if (event.type !== 'message') return { kind: 'skipped', warning: 'unknown-event', data: event.type };
  if (event.data.trim() === '[DONE]') return { kind: 'done' };
  const json = parseJson(event.data);
  if (json === undefined) return { kind: 'skipped', warning: 'malformed-json', data: event.data };
  if (hasErrorField(json)) throw streamErrorEvent(json, partialTextChars);
  const chunk = ChatCompletionChunk.safeParse(json);
  if (!chunk.success || (chunk.data.choices === undefined && chunk.data.usage == null)) {
    return { kind: 'skipped', warning: 'unexpected-shape', data: event.data };
  }
  const choices = chunk.data.choices ?? [];
  const choice = choices.find((c) => (c.index ?? 0) === 0) ?? choices[0];
  return {
    kind: 'part',
    part: {
      text: nonEmpty(choice?.delta?.content),
      finishReason: choice?.finish_reason ?? undefined,
      usage: chunk.data.usage ?? undefined,
    },
  };
}

/**
 * Interprets a whole non-streamed answer (the body of a JSON `200`). Throws
 * {@link OpenClawTurnStreamError}: `error-event` for an error body, `malformed-response` when it is not
 * a chat completion.
 */
export function interpretJsonAnswer(raw: string): ChatAnswerPart {
  const json = parseJson(raw);
  if (hasErrorField(json)) throw streamErrorEvent(json, 0);
  const answer = ChatCompletion.safeParse(json);
  if (!answer.success) {
    throw new OpenClawTurnStreamError('OpenClaw sent a JSON answer that is not a chat completion', {
      kind: 'malformed-response',
      partialTextChars: 0,
    });
  }
  const choice = answer.data.choices[0];
  return {
    text: nonEmpty(choice?.message.content),
    finishReason: choice?.finish_reason ?? undefined,
    usage: answer.data.usage ?? undefined,
  };
}

function streamErrorEvent(payload: unknown, partialTextChars: number): OpenClawTurnStreamError {
  const parsed = OpenClawErrorBody.safeParse(payload);
  const message =
    apiMessageOf(payload) ?? (typeof payload === 'string' && payload !== '' ? payload : 'unspecified error');
  return new OpenClawTurnStreamError(`OpenClaw stream failed: ${bodySnippet(message)}`, {
    kind: 'error-event',
    partialTextChars,
    apiType: parsed.success ? parsed.data.error.type : undefined,
  });
}

function hasErrorField(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as Record<string, unknown>)['error'] != null;
}

function nonEmpty(text: string | null | undefined): string | undefined {
  return typeof text === 'string' && text.length > 0 ? text : undefined;
}
