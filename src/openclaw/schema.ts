/**
 * Wire shapes of OpenClaw's OpenAI-compatible `POST /v1/chat/completions`
 * (see shared/reference/openclaw-api.md §1.1). Request shapes are exact; response shapes are loose
 * objects so that fields OpenClaw adds later pass through instead of failing a turn.
 */
import { z } from 'zod';

/** One part of a multi-part user message: text, or an image by URL (`https:` or a `data:` URL). */
export const ChatContentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string() }) }),
]);
export type ChatContentPart = z.infer<typeof ChatContentPart>;

/**
 * One input message. Only `system` (merged into the agent's system prompt) and `user` (the last one is
 * the turn) are sent: OpenClaw keeps the history itself, keyed by the session key.
 */
export const ChatMessage = z.object({
  role: z.enum(['system', 'user']),
  content: z.union([z.string(), z.array(ChatContentPart)]),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** The request body this gateway sends. */
export const ChatCompletionRequest = z.object({
  model: z.string().min(1),
  stream: z.boolean(),
  messages: z.array(ChatMessage).min(1),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** Token accounting, present on the non-streamed answer and on an optional final stream chunk. */
export const ChatUsage = z.looseObject({
  prompt_tokens: z.number().optional(),
  completion_tokens: z.number().optional(),
  total_tokens: z.number().optional(),
});
export type ChatUsage = z.infer<typeof ChatUsage>;

/** `{"error":{"message","type"}}`: the body of every OpenClaw error status and of an SSE error event. */
export const OpenClawErrorBody = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string().optional(),
  }),
});
export type OpenClawErrorBody = z.infer<typeof OpenClawErrorBody>;

/** The incremental part of one streamed choice. Unknown keys (`reasoning_content`, `tool_calls`) pass. */
export const ChatCompletionDelta = z.looseObject({
  role: z.string().optional(),
  content: z.string().nullish(),
});
export type ChatCompletionDelta = z.infer<typeof ChatCompletionDelta>;

/** One `data:` payload of the stream (`object: "chat.completion.chunk"`). */
export const ChatCompletionChunk = z.looseObject({
  id: z.string().optional(),
  object: z.string().optional(),
  created: z.number().optional(),
  model: z.string().optional(),
  /** Empty or absent on the final usage-only chunk. */
  choices: z
    .array(
      z.looseObject({
        index: z.number().optional(),
        delta: ChatCompletionDelta.nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .optional(),
  usage: ChatUsage.nullish(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

/** The non-streamed answer (`object: "chat.completion"`), accepted when a server ignores `stream`. */
export const ChatCompletion = z.looseObject({
  id: z.string().optional(),
  object: z.string().optional(),
  model: z.string().optional(),
  choices: z.array(
    z.looseObject({
      index: z.number().optional(),
      message: z.looseObject({ role: z.string().optional(), content: z.string().nullish() }),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: ChatUsage.nullish(),
});
export type ChatCompletion = z.infer<typeof ChatCompletion>;
