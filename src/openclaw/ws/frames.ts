/**
 * Wire shapes of OpenClaw's WebSocket gateway protocol, version 4 (shared/reference/openclaw-api.md §5,
 * frames captured from the real gateway in test/fixtures/openclaw-ws). Frames we send are exact; frames
 * we receive are loose objects, so fields OpenClaw adds later pass through instead of failing a turn.
 */
import { z } from 'zod';

/** The only protocol version this client speaks (`minProtocol` = `maxProtocol`). */
export const PROTOCOL_VERSION = 4;

/** `{type:"req"}`: every call, including `connect`. */
export const RequestFrame = z.strictObject({
  type: z.literal('req'),
  id: z.string().min(1),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
});
export type RequestFrame = z.infer<typeof RequestFrame>;

/** The `error` of a failed `res`. `details.code` is the precise reason (`AUTH_TOKEN_MISMATCH`, …). */
export const ErrorShape = z.looseObject({
  code: z.string(),
  message: z.string().default(''),
  details: z.unknown().optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().optional(),
});
export type ErrorShape = z.infer<typeof ErrorShape>;

/** `{type:"res"}`: the answer to one request, matched by `id`. */
export const ResponseFrame = z.looseObject({
  type: z.literal('res'),
  id: z.string(),
  ok: z.boolean(),
  payload: z.unknown().optional(),
  error: ErrorShape.optional(),
});
export type ResponseFrame = z.infer<typeof ResponseFrame>;

/** `{type:"event"}`: pushed by the gateway. `seq` orders events on one connection (resets on reconnect). */
export const EventFrame = z.looseObject({
  type: z.literal('event'),
  event: z.string(),
  payload: z.unknown().optional(),
  seq: z.number().optional(),
});
export type EventFrame = z.infer<typeof EventFrame>;

/** Everything the gateway sends. */
export const InboundFrame = z.discriminatedUnion('type', [ResponseFrame, EventFrame]);
export type InboundFrame = z.infer<typeof InboundFrame>;

/** Payload of the `connect.challenge` event, the first frame after the socket opens. */
export const ConnectChallenge = z.looseObject({
  nonce: z.string().min(1),
  /** Milliseconds since the epoch; signed as the device proof's `signedAt`. */
  ts: z.number().int().nonnegative(),
});
export type ConnectChallenge = z.infer<typeof ConnectChallenge>;

/** Payload of a successful `connect`. */
export const HelloOk = z.looseObject({
  type: z.literal('hello-ok'),
  protocol: z.number(),
  server: z.looseObject({ version: z.string().optional(), connId: z.string().optional() }).optional(),
  auth: z
    .looseObject({
      role: z.string().optional(),
      scopes: z.array(z.string()).default([]),
      /** Issued to a paired device; persist it and reconnect with it. */
      deviceToken: z.string().optional(),
    })
    .default({ scopes: [] }),
  policy: z
    .looseObject({
      tickIntervalMs: z.number().positive().optional(),
      maxPayload: z.number().positive().optional(),
      attachments: z
        .looseObject({ maxBytes: z.number().optional(), maxImageBytes: z.number().optional() })
        .optional(),
    })
    .default({}),
});
export type HelloOk = z.infer<typeof HelloOk>;

/**
 * Payload of a `chat` event. `state`: `status` (startup phase), `delta` (`deltaText` increment plus
 * the cumulative `message`), then one terminal `final` | `error` | `aborted`.
 */
export const ChatEventPayload = z.looseObject({
  runId: z.string(),
  sessionKey: z.string().optional(),
  seq: z.number().optional(),
  state: z.string(),
  phase: z.string().optional(),
  deltaText: z.string().optional(),
  /** The delta replaces the text instead of extending it. */
  replace: z.boolean().optional(),
  message: z.unknown().optional(),
  stopReason: z.string().optional(),
  errorMessage: z.string().optional(),
  errorDetail: z.unknown().optional(),
});
export type ChatEventPayload = z.infer<typeof ChatEventPayload>;

/**
 * Payload of an `agent` event. `stream`: `lifecycle`, `run_status`, `assistant`, `item` (tool and
 * preamble status), `tool` (arguments and results; sender connection with the `tool-events` cap only),
 * `thinking`, `usage`, … `seq` is per run.
 */
export const AgentEventPayload = z.looseObject({
  runId: z.string(),
  stream: z.string(),
  sessionKey: z.string().optional(),
  seq: z.number().optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type AgentEventPayload = z.infer<typeof AgentEventPayload>;

/** `agent` stream `item`: `kind: "tool"` (or `preamble`, …), `phase: start | update | end`. */
export const ItemData = z.looseObject({
  kind: z.string(),
  phase: z.string(),
  name: z.string().optional(),
  title: z.string().optional(),
  status: z.string().optional(),
  toolCallId: z.string().optional(),
});
export type ItemData = z.infer<typeof ItemData>;

/** `agent` stream `tool`: `phase: start` (with `args`) and `phase: result`. */
export const ToolData = z.looseObject({
  phase: z.string(),
  name: z.string().default('tool'),
  toolCallId: z.string().optional(),
  isError: z.boolean().optional(),
  result: z.unknown().optional(),
});
export type ToolData = z.infer<typeof ToolData>;

/** `agent` stream `thinking`: the reasoning so far (`text`) and its increment (`delta`). */
export const ThinkingData = z.looseObject({ text: z.string().optional(), delta: z.string().optional() });
export type ThinkingData = z.infer<typeof ThinkingData>;

/** Result of `chat.send`: `started`, `in_flight` (same idempotencyKey running) or `ok` (already done). */
export const ChatSendResult = z.looseObject({ runId: z.string().min(1), status: z.string() });
export type ChatSendResult = z.infer<typeof ChatSendResult>;

/** Result of `chat.history`; `inFlightRun` is present while a run of the session is still going. */
export const ChatHistoryResult = z.looseObject({
  messages: z.array(z.unknown()).default([]),
  inFlightRun: z.looseObject({ runId: z.string(), text: z.string().optional() }).nullish(),
  sessionInfo: z
    .looseObject({
      hasActiveRun: z.boolean().optional(),
      activeRunIds: z.array(z.string()).nullish(),
    })
    .optional(),
});
export type ChatHistoryResult = z.infer<typeof ChatHistoryResult>;

/** One transcript message of `chat.history` (only what resuming a run needs). */
export const HistoryMessage = z.looseObject({
  role: z.string(),
  content: z.unknown().optional(),
  stopReason: z.string().optional(),
  __openclaw: z.looseObject({ runId: z.string().optional() }).optional(),
});
export type HistoryMessage = z.infer<typeof HistoryMessage>;

/** Result of `agent.wait`: the run's outcome (`ok`, `error`, `timeout`, `pending`, …). */
export const AgentWaitResult = z.looseObject({
  status: z.string(),
  error: z.unknown().optional(),
  terminalReply: z.looseObject({ text: z.string().optional() }).optional(),
});
export type AgentWaitResult = z.infer<typeof AgentWaitResult>;

/** One entry of `artifacts.list`. */
export const ArtifactSummary = z.looseObject({
  id: z.string().min(1),
  type: z.string().optional(),
  title: z.string().optional(),
  mimeType: z.string().optional(),
  sizeBytes: z.number().optional(),
  runId: z.string().optional(),
});
export type ArtifactSummary = z.infer<typeof ArtifactSummary>;

export const ArtifactsListResult = z.looseObject({ artifacts: z.array(ArtifactSummary).default([]) });
export type ArtifactsListResult = z.infer<typeof ArtifactsListResult>;

/**
 * Result of `artifacts.download`: a short-lived gateway-relative `url` (managed media, fetched with a
 * plain GET), or the bytes inline (`encoding: "base64"`, `data`).
 */
export const ArtifactsDownloadResult = z.looseObject({
  url: z.string().optional(),
  expiresAt: z.string().optional(),
  encoding: z.string().optional(),
  data: z.string().optional(),
  artifact: ArtifactSummary.optional(),
});
export type ArtifactsDownloadResult = z.infer<typeof ArtifactsDownloadResult>;

/** Result of `chat.abort`. */
export const ChatAbortResult = z.looseObject({
  aborted: z.boolean().optional(),
  runIds: z.array(z.string()).optional(),
});
export type ChatAbortResult = z.infer<typeof ChatAbortResult>;

/** Result of `sessions.reset`. */
export const SessionsResetResult = z.looseObject({ ok: z.boolean().optional(), key: z.string().optional() });
export type SessionsResetResult = z.infer<typeof SessionsResetResult>;

/** A message snapshot (`{role, content: string | [{type:"text", text}, …]}`) reduced to its text. */
export function messageText(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const content = (message as { content?: unknown }).content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  return content
    .map((part: unknown) => {
      if (typeof part !== 'object' || part === null) return '';
      const { type, text } = part as { type?: unknown; text?: unknown };
      return type === 'text' && typeof text === 'string' ? text : '';
    })
    .join('');
}
