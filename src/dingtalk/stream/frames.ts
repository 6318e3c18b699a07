import { z } from 'zod';

/** Envelope of every server → client Stream frame. Unknown keys are tolerated. */
export const DownstreamFrame = z.looseObject({
  specVersion: z.string().optional(),
  type: z.string(),
  headers: z.looseObject({
    messageId: z.string().min(1).optional(),
    topic: z.string().optional(),
    contentType: z.string().optional(),
    time: z.union([z.string(), z.number()]).optional(),
    connectionId: z.string().optional(),
  }),
  data: z.string().optional(),
});
export type DownstreamFrame = z.infer<typeof DownstreamFrame>;

/** A frame after parsing, sorted by what the client must do with it. */
export type ParsedFrame =
  | { readonly kind: 'callback'; readonly messageId: string; readonly topic: string; readonly data: unknown }
  | { readonly kind: 'event'; readonly messageId: string; readonly topic: string }
  | { readonly kind: 'ping'; readonly messageId: string; readonly data: string }
  | { readonly kind: 'disconnect'; readonly messageId: string | undefined; readonly reason: string }
  /** Unusable frame: acked when it has a messageId (so it is not redelivered), then dropped. */
  | { readonly kind: 'invalid'; readonly messageId: string | undefined; readonly reason: string };

export type FrameKind = ParsedFrame['kind'];

// A frame whose JSON is broken may still carry its id; acking it stops the server from resending it.
const MESSAGE_ID_PATTERN = /"messageId"\s*:\s*"([^"\\]{1,200})"/;

/** Never throws: anything unusable becomes `{ kind: 'invalid', reason }`. */
export function parseFrame(text: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid', messageId: MESSAGE_ID_PATTERN.exec(text)?.[1], reason: 'frame is not JSON' };
  }
  const result = DownstreamFrame.safeParse(json);
  if (!result.success) {
    const fallbackId = extractMessageId(json);
    return { kind: 'invalid', messageId: fallbackId, reason: 'frame envelope is malformed' };
  }
  const frame = result.data;
  const messageId = frame.headers.messageId;
  const topic = frame.headers.topic ?? '';
  if (frame.type === 'SYSTEM') {
    if (topic === 'disconnect')
      return { kind: 'disconnect', messageId, reason: disconnectReason(frame.data) };
    if (topic === 'ping') {
      return messageId === undefined
        ? { kind: 'invalid', messageId, reason: 'SYSTEM ping has no headers.messageId' }
        : { kind: 'ping', messageId, data: frame.data ?? '' };
    }
    return { kind: 'invalid', messageId, reason: `unknown SYSTEM topic "${topic.slice(0, 64)}"` };
  }
  if (messageId === undefined)
    return { kind: 'invalid', messageId, reason: 'frame has no headers.messageId' };
  if (frame.type === 'EVENT') return { kind: 'event', messageId, topic };
  if (frame.type !== 'CALLBACK')
    return { kind: 'invalid', messageId, reason: `unknown frame type "${frame.type.slice(0, 32)}"` };
  if (frame.data === undefined) return { kind: 'invalid', messageId, reason: 'CALLBACK frame has no data' };
  try {
    return { kind: 'callback', messageId, topic, data: JSON.parse(frame.data) };
  } catch {
    return { kind: 'invalid', messageId, reason: 'CALLBACK data is not JSON' };
  }
}

function extractMessageId(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const headers = (json as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const id = (headers as { messageId?: unknown }).messageId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

function disconnectReason(data: string | undefined): string {
  if (data === undefined) return 'unspecified';
  try {
    const parsed: unknown = JSON.parse(data);
    const reason = (parsed as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' ? reason.slice(0, 200) : 'unspecified';
  } catch {
    return 'unspecified';
  }
}

/** The ACK frame for a downstream frame; `data` must already be a JSON string. */
export function ackFrame(messageId: string, data: string, code = 200, message = 'OK'): string {
  return JSON.stringify({ code, headers: { contentType: 'application/json', messageId }, message, data });
}

/** ACK data for a bot-message CALLBACK (the server ignores the content). */
export const CALLBACK_ACK_DATA = JSON.stringify({ response: null });

/** ACK data for an EVENT: the documented success shape. */
export const EVENT_ACK_DATA = JSON.stringify({ status: 'SUCCESS', message: 'ok' });
