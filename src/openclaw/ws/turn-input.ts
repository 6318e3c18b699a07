/**
 * The `chat.send` parameters of one {@link AgentTurn} (shared/reference/openclaw-api.md §5.3, §5.6).
 *
 * `chat.send` takes the user's text and base64 attachments; it has no system-prompt field, so the
 * turn's system messages are not sent (the agent's own `MEDIA:` lines become downloadable artifacts
 * on this transport, which is what the HTTP transport's media instructions stand in for).
 */
import type { AgentTurn } from '../agent-transport.js';
import type { ChatContentPart } from '../schema.js';

/** One `chat.send` attachment: decoded bytes as base64 `content`. */
export interface ChatAttachment {
  readonly type: 'image' | 'file';
  readonly mimeType: string;
  readonly fileName: string;
  readonly content: string;
}

/** What {@link chatSendInput} made of a turn. */
export interface ChatSendInput {
  readonly params: Record<string, unknown>;
  /** System messages left out (see the module comment). */
  readonly droppedSystemMessages: number;
  /** Attachments left out because they exceed the gateway's limits (named in the message instead). */
  readonly droppedAttachments: readonly string[];
}

/** `hello-ok.policy.attachments`: decoded-size ceilings per attachment. */
export interface AttachmentLimits {
  readonly maxBytes?: number | undefined;
  readonly maxImageBytes?: number | undefined;
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;
const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
};

/**
 * Builds `chat.send`'s params: the last user message's text parts joined by blank lines as `message`,
 * its `data:` image URLs as image attachments (`image-1.png`, …), other image URLs as text lines,
 * and the turn's files as file attachments (OpenClaw inlines text files and offloads the rest).
 * Slash commands in the text are not interpreted (`suppressCommandInterpretation`): a DingTalk user
 * typing `/new` must not reset the session behind the gateway's back.
 */
export function chatSendInput(turn: AgentTurn, limits: AttachmentLimits = {}): ChatSendInput {
  const user = turn.messages.findLast((message) => message.role === 'user');
  const droppedSystemMessages = turn.messages.filter((message) => message.role === 'system').length;
  const parts: readonly ChatContentPart[] =
    user === undefined
      ? []
      : typeof user.content === 'string'
        ? [{ type: 'text', text: user.content }]
        : user.content;
  const texts: string[] = [];
  const attachments: ChatAttachment[] = [];
  const droppedAttachments: string[] = [];
  const maxImageBytes = limits.maxImageBytes ?? limits.maxBytes;
  for (const part of parts) {
    if (part.type === 'text') {
      texts.push(part.text);
      continue;
    }
    const match = DATA_URL.exec(part.image_url.url);
    if (match === null) {
      texts.push(`[image: ${part.image_url.url}]`);
      continue;
    }
    const mimeType = match[1] ?? 'application/octet-stream';
    const content = match[2] ?? '';
    const fileName = `image-${attachments.length + droppedAttachments.length + 1}.${EXTENSIONS[mimeType] ?? 'bin'}`;
    if (maxImageBytes !== undefined && base64DecodedBytes(content) > maxImageBytes) {
      // OpenClaw would refuse the whole turn; the agent gets the text and a note instead.
      droppedAttachments.push(fileName);
      texts.push(`[${fileName} omitted: larger than the ${maxImageBytes} bytes the assistant accepts]`);
      continue;
    }
    attachments.push({ type: 'image', mimeType, fileName, content });
  }
  for (const file of turn.files ?? []) {
    if (limits.maxBytes !== undefined && file.bytes.length > limits.maxBytes) {
      droppedAttachments.push(file.fileName);
      texts.push(
        `[${file.fileName} omitted: larger than the ${limits.maxBytes} bytes the assistant accepts]`,
      );
      continue;
    }
    attachments.push({
      type: 'file',
      mimeType: file.mimeType,
      fileName: file.fileName,
      content: file.bytes.toString('base64'),
    });
  }
  const params: Record<string, unknown> = {
    sessionKey: qualifiedSessionKey(turn.sessionKey, turn.agentId),
    agentId: turn.agentId,
    message: texts.join('\n\n'),
    idempotencyKey: turn.idempotencyKey,
    suppressCommandInterpretation: true,
  };
  if (turn.thinking !== undefined) params['thinking'] = turn.thinking;
  if (attachments.length > 0) params['attachments'] = attachments;
  return { params, droppedSystemMessages, droppedAttachments };
}

function base64DecodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/**
 * `agent:<agentId>:<sessionKey>`: the key OpenClaw stores (lower-cased) for a session that the HTTP
 * transport addresses with `x-openclaw-session-key` and `x-openclaw-agent-id`. Every request about
 * the session uses it, since `chat.history`, `chat.abort`, `artifacts.*` and `sessions.reset` would
 * otherwise resolve a bare key with the default agent.
 */
export function qualifiedSessionKey(sessionKey: string, agentId: string): string {
  return sessionKey.startsWith('agent:') ? sessionKey : `agent:${agentId}:${sessionKey}`;
}
