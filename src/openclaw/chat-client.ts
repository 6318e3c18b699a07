/**
 * Streams one agent turn from OpenClaw's OpenAI-compatible `POST /v1/chat/completions`
 * (shared/reference/openclaw-api.md §1.1, §1.8).
 */
import type { Logger } from 'pino';
import { Agent } from 'undici';

import { bodySnippet, GatewayError } from '../errors.js';
import {
  interpretJsonAnswer,
  interpretStreamEvent,
  type ChatAnswerPart,
  type OpenClawProtocolWarning,
} from './chat-stream-events.js';
import {
  OpenClawTurnStreamError,
  toTurnError,
  TurnAbortedError,
  type TurnFailureFacts,
} from './chat-turn-errors.js';
import { firstHeader } from '../util/http-body.js';
import { StreamedExchange } from '../util/http-stream-exchange.js';
import { encodeHeaderValue, readText, toHttpError } from './http-answer.js';
import type { ChatMessage, ChatUsage } from './schema.js';
import { SseParser, type SseEvent } from './sse-parser.js';

export type { ChatContentPart, ChatMessage, ChatUsage } from './schema.js';
export type { OpenClawProtocolWarning } from './chat-stream-events.js';
export {
  OpenClawTurnStreamError,
  TurnAbortedError,
  type OpenClawStreamFailureKind,
} from './chat-turn-errors.js';
export { encodeHeaderValue, parseRetryAfterMs } from './http-answer.js';

/** Connect deadline when {@link OpenClawChatClientOptions.connectTimeoutMs} is not given (capped at `timeoutMs`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How much later than the turn deadline undici's own header/body timers fire; they are only a backstop. */
const TRANSPORT_TIMEOUT_SLACK_MS = 5_000;
/** Largest non-streamed JSON answer accepted. */
const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;
/** How long a stream may stay open after its `[DONE]` event before it is cut (OpenClaw ends it at once). */
const AFTER_DONE_GRACE_MS = 1_000;

/** Abort reason of a turn's request once the turn is over (releases a connection left mid-body). */
const TURN_OVER = new Error('turn over');
/** Abort reason of a turn's request stopped early (deadline, caller, close); the turn's error says which. */
const TURN_STOPPED = new Error('turn stopped');

/** One agent turn. */
export interface ChatTurnRequest {
  /**
   * Conversation key, sent as `x-openclaw-session-key` (OpenClaw stores it as `agent:<agentId>:<key>`).
   * Case is preserved; see {@link encodeHeaderValue} for how non-ASCII characters are sent.
   */
  readonly sessionKey: string;
  /** Agent answering: sent as model `openclaw/<agentId>` and as `x-openclaw-agent-id`. */
  readonly agentId: string;
  readonly messages: readonly ChatMessage[];
  /** Aborting closes the HTTP request, which makes OpenClaw abort the run; the turn throws {@link TurnAbortedError}. */
  readonly signal?: AbortSignal | undefined;
}

/** How a completed turn ended. */
export interface ChatTurnSummary {
  /** `stop`, `length`, `tool_calls`, …; `undefined` when the stream ended with `[DONE]` but no finish reason. */
  readonly finishReason: string | undefined;
  readonly usage?: ChatUsage;
  /** Characters (UTF-16 code units) of text yielded. */
  readonly textChars: number;
}

/** Options of {@link OpenClawChatClient}. */
export interface OpenClawChatClientOptions {
  /** Gateway origin, optionally with a path prefix, e.g. `http://127.0.0.1:18789`. */
  readonly baseUrl: string;
  /** Gateway bearer token; `undefined` sends no `Authorization` (gateway auth mode `none`). */
  readonly token: string | undefined;
  /** Deadline of one whole turn, from the request until the last delta. */
  readonly timeoutMs: number;
  /** TCP connect deadline. @defaultValue {@link DEFAULT_CONNECT_TIMEOUT_MS}, capped at `timeoutMs` */
  readonly connectTimeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
  /** Called for every skipped stream event (also counted in {@link OpenClawChatClient.protocolWarningCount}). */
  readonly onProtocolWarning?: ((warning: OpenClawProtocolWarning) => void) | undefined;
}

/** Mutable facts about one turn, shared between the generator and its error mapping. */
interface TurnState {
  stop: TurnFailureFacts['stop'];
  stopReason: unknown;
  hasResponse: boolean;
  bodyBytes: number;
  textChars: number;
  finishReason: string | undefined;
  usage: ChatUsage | undefined;
}

/**
 * Client of OpenClaw's chat completions endpoint. Owns one undici `Agent`. Never retries: a POST starts an
 * agent run, so repeating it is the caller's decision (errors carry `retryable`).
 */
export class OpenClawChatClient {
  // Origin and path parsed once: the agent is called with them instead of a URL to parse per turn.
  readonly #origin: string;
  readonly #path: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #agent: Agent;
  readonly #logger: Logger | undefined;
  readonly #onProtocolWarning: ((warning: OpenClawProtocolWarning) => void) | undefined;
  readonly #activeTurns = new Set<() => void>();
  #protocolWarningCount = 0;
  #closed: Promise<void> | undefined;

  constructor(options: OpenClawChatClientOptions) {
    const url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/v1/chat/completions`);
    this.#origin = url.origin;
    this.#path = `${url.pathname}${url.search}`;
    this.#token = options.token === '' ? undefined : options.token;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#onProtocolWarning = options.onProtocolWarning;
    // The turn deadline is the binding limit. Headers may legitimately wait for a previous run on the
    // same session (OpenClaw serialises them) and the body may idle while the agent runs tools, so
    // undici's own timers sit just beyond the deadline as a backstop only.
    const transportTimeoutMs = options.timeoutMs + TRANSPORT_TIMEOUT_SLACK_MS;
    this.#agent = new Agent({
      connect: {
        timeout: Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, options.timeoutMs),
      },
      headersTimeout: transportTimeoutMs,
      bodyTimeout: transportTimeoutMs,
    });
  }

  /** Stream events skipped as not understood since construction. */
  get protocolWarningCount(): number {
    return this.#protocolWarningCount;
  }

  /**
   * Runs one turn and yields the assistant's text deltas in order. The request starts on the first
   * `next()`. Returns normally only after `[DONE]`, or after a finish reason followed by the end of the
   * body. Stopping the iteration early (`break`, `return()`) closes the request and so aborts the run.
   *
   * Throws {@link OpenClawHttpError} (non-2xx), {@link OpenClawUnavailableError} (not reachable, or the
   * connection broke before any body byte), {@link OpenClawTurnStreamError} (error event, stream ended
   * unfinished), {@link OpenClawTimeoutError} (`timeoutMs` passed) or {@link TurnAbortedError}.
   */
  async *streamChat(turn: ChatTurnRequest): AsyncGenerator<string, ChatTurnSummary, undefined> {
    if (this.#closed !== undefined) throw new TurnAbortedError(new Error('OpenClaw client is closed'));
    if (turn.signal?.aborted === true) throw new TurnAbortedError(turn.signal.reason);
    const state: TurnState = {
      stop: undefined,
      stopReason: undefined,
      hasResponse: false,
      bodyBytes: 0,
      textChars: 0,
      finishReason: undefined,
      usage: undefined,
    };
    // The turn's own request: stopping it never touches the caller's signal or other turns.
    let request: StreamedExchange | undefined;
    const stop = (why: NonNullable<TurnState['stop']>, reason?: unknown): void => {
      if (state.stop !== undefined) return;
      state.stop = why;
      state.stopReason = reason;
      request?.abort(TURN_STOPPED);
    };
    const onCallerAbort = (): void => {
      stop('caller', turn.signal?.reason);
    };
    const onClose = (): void => {
      stop('closed', new Error('OpenClaw client closed'));
    };
    turn.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#activeTurns.add(onClose);
    const timer = setTimeout(() => {
      stop('timeout');
    }, this.#timeoutMs);
    const startedAtMs = Date.now();
    this.#logger?.debug({ agentId: turn.agentId, sessionKey: turn.sessionKey }, 'openclaw turn started');
    try {
      request = this.#send(turn);
      if (state.stop !== undefined) request.abort(TURN_STOPPED);
      const summary = yield* this.#read(request, state);
      this.#logger?.debug(
        {
          durationMs: Date.now() - startedAtMs,
          textChars: state.textChars,
          finishReason: summary.finishReason,
        },
        'openclaw turn finished',
      );
      return summary;
    } catch (error) {
      const mapped = toTurnError(error, state, this.#timeoutMs);
      this.#logger?.debug({ err: mapped, durationMs: Date.now() - startedAtMs }, 'openclaw turn failed');
      throw mapped;
    } finally {
      clearTimeout(timer);
      turn.signal?.removeEventListener('abort', onCallerAbort);
      this.#activeTurns.delete(onClose);
      // Releases the connection when we returned at `[DONE]` before the body ended, and aborts the run
      // when the consumer stopped iterating early. A no-op once the request is over; the shared
      // reason spares an error (and its stack trace) per turn.
      request?.abort(TURN_OVER);
    }
  }

  /** Aborts running turns (they throw {@link TurnAbortedError}) and destroys the connection pool. Idempotent. */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      for (const abortTurn of [...this.#activeTurns]) abortTurn();
      this.#closed = this.#agent.destroy();
    }
    return this.#closed;
  }

  #send(turn: ChatTurnRequest): StreamedExchange {
    return new StreamedExchange(this.#agent, {
      origin: this.#origin,
      path: this.#path,
      method: 'POST',
      headers: this.#headers(turn),
      body: JSON.stringify({ model: `openclaw/${turn.agentId}`, stream: true, messages: turn.messages }),
    });
  }

  async *#read(request: StreamedExchange, state: TurnState): AsyncGenerator<string, ChatTurnSummary> {
    const head = await request.head;
    state.hasResponse = true;
    if (head.statusCode < 200 || head.statusCode > 299) throw await toHttpError(head, request);
    const contentType = firstHeader(head.headers['content-type']) ?? '';
    if (/\bjson\b/i.test(contentType)) return yield* this.#readJsonAnswer(request, state);
    return yield* this.#readStream(request, state);
  }

  #headers(turn: ChatTurnRequest): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'x-openclaw-session-key': encodeHeaderValue(turn.sessionKey),
      'x-openclaw-agent-id': encodeHeaderValue(turn.agentId),
      'x-openclaw-message-channel': 'dingtalk',
    };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    return headers;
  }

  async *#readStream(body: StreamedExchange, state: TurnState): AsyncGenerator<string, ChatTurnSummary> {
    const parser = new SseParser();
    // After `[DONE]` the body is read to its end (normally at once) rather than left: leaving it
    // early would abort the request and close a connection that can serve the next turn. A server
    // that keeps the stream open after `[DONE]` is cut off after a short grace.
    let isDone = false;
    let graceTimer: NodeJS.Timeout | undefined;
    try {
      for await (const chunk of body) {
        state.bodyBytes += chunk.length;
        if (isDone) continue;
        for (const event of parser.push(chunk)) {
          if (yield* this.#onEvent(event, state)) {
            isDone = true;
            graceTimer = setTimeout(() => body.destroy(), AFTER_DONE_GRACE_MS);
            break;
          }
        }
      }
      if (isDone) return summarize(state);
      for (const event of parser.end()) {
        if (yield* this.#onEvent(event, state)) return summarize(state);
      }
    } catch (error) {
      if (isDone && state.stop === undefined) return summarize(state);
      // The answer is complete once a finish reason arrived; a connection lost before `[DONE]` then
      // costs nothing, and failing would make the bridge report an error after a full reply.
      if (state.finishReason === undefined || state.stop !== undefined || error instanceof GatewayError)
        throw error;
      this.#logger?.debug({ err: error }, 'openclaw stream broke after its finish reason; answer kept');
      return summarize(state);
    } finally {
      clearTimeout(graceTimer);
    }
    if (state.finishReason !== undefined) return summarize(state);
    throw new OpenClawTurnStreamError(
      `OpenClaw stream ended without [DONE] after ${state.textChars} characters`,
      { kind: 'incomplete', partialTextChars: state.textChars },
    );
  }

  /** Handles one SSE event; yields its text and returns true at `[DONE]`. */
  *#onEvent(event: SseEvent, state: TurnState): Generator<string, boolean, undefined> {
    const step = interpretStreamEvent(event, state.textChars);
    if (step.kind === 'done') return true;
    if (step.kind === 'skipped') {
      this.#warn(step.warning, step.data);
      return false;
    }
    const text = absorb(state, step.part);
    if (text !== undefined) yield text;
    return false;
  }

  async *#readJsonAnswer(body: StreamedExchange, state: TurnState): AsyncGenerator<string, ChatTurnSummary> {
    const raw = await readText(body, MAX_JSON_BODY_BYTES, state);
    if (raw === undefined) {
      throw new OpenClawTurnStreamError(`OpenClaw JSON answer exceeds ${MAX_JSON_BODY_BYTES} bytes`, {
        kind: 'oversized',
        partialTextChars: 0,
      });
    }
    const text = absorb(state, interpretJsonAnswer(raw));
    if (text !== undefined) yield text;
    return summarize(state);
  }

  #warn(kind: OpenClawProtocolWarning['kind'], data: string): void {
    this.#protocolWarningCount += 1;
    this.#logger?.warn(
      { kind, dataChars: data.length },
      'skipped an OpenClaw stream event that is not understood',
    );
    try {
      this.#onProtocolWarning?.({ kind, snippet: bodySnippet(data) });
    } catch (error) {
      this.#logger?.warn({ err: error }, 'onProtocolWarning callback threw');
    }
  }
}

function summarize(state: TurnState): ChatTurnSummary {
  const base = { finishReason: state.finishReason, textChars: state.textChars };
  return state.usage === undefined ? base : { ...base, usage: state.usage };
}

/** Adds a part to the turn's facts and returns its text to yield. */
function absorb(state: TurnState, part: ChatAnswerPart): string | undefined {
  if (part.usage !== undefined) state.usage = part.usage;
  if (part.finishReason !== undefined) state.finishReason = part.finishReason;
  if (part.text !== undefined) state.textChars += part.text.length;
  return part.text;
}
