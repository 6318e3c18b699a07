import type { MediaConfig } from '../config/types.js';
import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { isTextLike, mimeForFileName, sniffImageMime } from '../media/media-kinds.js';
import type { AgentFile } from '../openclaw/agent-transport.js';
import type { ChatContentPart } from '../openclaw/chat-client.js';
import type { InboundMessage } from './inbound-message.js';
import type { InboundSegment } from './message-content.js';

/** Image types OpenClaw's chat-completions endpoint accepts as `image_url` data URIs. */
const AGENT_IMAGE_MIMES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Fetches the file behind a message's downloadCode (DingTalk `messageFiles/download`). */
export interface InboundMediaSource {
  download(
    accountId: string,
    downloadCode: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string | undefined }>;
}

/** The user turn for the agent, and notes for the user about media that could not be passed on. */
export interface AgentContent {
  readonly content: string | ChatContentPart[];
  /** Inbound files to attach as they are (only with `filesAsAttachments`), named in `content`. */
  readonly files: AgentFile[];
  readonly notes: string[];
}

interface Builder {
  readonly parts: ChatContentPart[];
  readonly files: AgentFile[];
  readonly notes: string[];
  fetched: number;
}

function addText(builder: Builder, text: string): void {
  const last = builder.parts.at(-1);
  if (last?.type === 'text')
    builder.parts[builder.parts.length - 1] = { type: 'text', text: `${last.text}\n${text}` };
  else builder.parts.push({ type: 'text', text });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A code fence longer than any backtick run in `text`, so the text cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  return '`'.repeat(longest + 1);
}

async function addMedia(
  builder: Builder,
  segment: Exclude<InboundSegment, { type: 'text' } | { type: 'unsupported' }>,
  context: {
    message: InboundMessage;
    source: InboundMediaSource;
    limits: MediaConfig;
    log: Logger;
    signal: AbortSignal;
    filesAsAttachments: boolean;
  },
): Promise<void> {
  const { limits } = context;
  const label = segment.type === 'file' ? `file "${segment.fileName ?? 'unnamed'}"` : segment.type;
  if (segment.type === 'audio') {
    addText(
      builder,
      segment.recognition === undefined
        ? '[voice message, no transcript available]'
        : `[voice message] ${segment.recognition}`,
    );
    return;
  }
  if (segment.type === 'video') {
    addText(builder, '[video: the assistant cannot watch videos]');
    return;
  }
  if (segment.downloadCode === undefined) {
    addText(builder, `[${label}: not available]`);
    return;
  }
  if (builder.fetched >= limits.maxInboundFiles) {
    addText(builder, `[${label}: not passed on, more than ${limits.maxInboundFiles} attachments]`);
    builder.notes.push(
      `${label} was not passed to the assistant (more than ${limits.maxInboundFiles} attachments)`,
    );
    return;
  }
  builder.fetched += 1;
  let file: { bytes: Buffer; contentType: string | undefined };
  try {
    file = await context.source.download(
      context.message.accountId,
      segment.downloadCode,
      limits.maxInboundFileBytes,
      context.signal,
    );
  } catch (error) {
    if (context.signal.aborted) throw error;
    const isTooLarge = /too-large|too large/i.test(describeCause(error));
    const reason = isTooLarge
      ? `larger than ${formatBytes(limits.maxInboundFileBytes)}`
      : 'could not be downloaded';
    context.log.warn({ err: error, kind: segment.type }, 'inbound media not passed to the agent');
    addText(builder, `[${label}: ${reason}]`);
    builder.notes.push(`${label} was not passed to the assistant: ${reason}`);
    return;
  }
  if (segment.type === 'picture') {
    const mime = sniffImageMime(file.bytes);
    if (mime !== undefined && AGENT_IMAGE_MIMES.has(mime)) {
      builder.parts.push({
        type: 'image_url',
        image_url: { url: `data:${mime};base64,${file.bytes.toString('base64')}` },
      });
    } else {
      addText(builder, `[picture in an unsupported format${mime === undefined ? '' : ` (${mime})`}]`);
      builder.notes.push('a picture was not passed to the assistant: unsupported format');
    }
    return;
  }
  const name = segment.fileName ?? 'unnamed';
  const size = formatBytes(file.bytes.length);
  if (context.filesAsAttachments) {
    const isGeneric = file.contentType === undefined || /octet-stream/i.test(file.contentType);
    const mimeType = isGeneric ? mimeForFileName(name) : (file.contentType?.split(';')[0] ?? '');
    builder.files.push({ fileName: name, mimeType, bytes: file.bytes });
    addText(builder, `[file "${name}", ${size}: attached]`);
    return;
  }
  if (file.bytes.length <= limits.inlineTextMaxBytes && isTextLike(name, file.bytes)) {
    const text = file.bytes.toString('utf8');
    const fence = fenceFor(text);
    addText(builder, `[file "${name}", ${size}]\n${fence}\n${text}\n${fence}`);
  } else {
    addText(
      builder,
      `[file "${name}", ${size}, ${file.contentType ?? 'unknown type'}: its content is not readable by the assistant]`,
    );
  }
}

async function addSegments(
  builder: Builder,
  segments: readonly InboundSegment[],
  context: Parameters<typeof addMedia>[2],
): Promise<void> {
  for (const segment of segments) {
    if (segment.type === 'text') addText(builder, segment.text);
    else if (segment.type === 'unsupported')
      addText(builder, `[unsupported message type: ${segment.msgtype}]`);
    else await addMedia(builder, segment, context);
  }
}

/** Removes `count` characters from the start of the first text segment (a stripped `requirePrefix`). */
function dropLeadingChars(segments: readonly InboundSegment[], count: number): InboundSegment[] {
  const [first, ...rest] = segments;
  if (count <= 0 || first?.type !== 'text') return [...segments];
  return [{ type: 'text', text: first.text.trimStart().slice(count).trimStart() }, ...rest];
}

/**
 * Builds the user turn: the speaker line in groups, the quoted message, then the message's text
 * and media in their order. Pictures become `image_url` data URIs, voice its transcript; files go
 * as attachments when the transport takes them (`filesAsAttachments`, the WebSocket transport),
 * else small text files become text and other files a description. Text-only messages stay a
 * plain string.
 */
export async function buildAgentContent(
  message: InboundMessage,
  text: string,
  context: {
    source: InboundMediaSource;
    limits: MediaConfig;
    log: Logger;
    signal: AbortSignal;
    filesAsAttachments: boolean;
  },
): Promise<AgentContent> {
  const builder: Builder = { parts: [], files: [], notes: [], fetched: 0 };
  const fullContext = { ...context, message };
  if (message.chatType === 'group')
    addText(builder, `[From ${message.senderNick ?? 'unknown'} (id: ${message.senderKey})]`);
  if (message.quoted !== undefined && message.quoted.segments.length > 0) {
    addText(builder, '[Quoted message]');
    await addSegments(builder, message.quoted.segments, fullContext);
    addText(builder, '[Reply]');
  }
  const hasMedia = message.segments.some((segment) => segment.type !== 'text');
  if (hasMedia)
    await addSegments(
      builder,
      dropLeadingChars(message.segments, message.text.length - text.length),
      fullContext,
    );
  else addText(builder, text);
  const [only] = builder.parts;
  const content = builder.parts.length === 1 && only?.type === 'text' ? only.text : builder.parts;
  return { content, files: builder.files, notes: builder.notes };
}
