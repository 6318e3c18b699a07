import type { BotMessage } from '../dingtalk/bot-message.js';

/** One piece of a message in the order it appeared: text, or a media item to fetch later. */
export type InboundSegment =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'picture'; readonly downloadCode: string | undefined }
  | {
      readonly type: 'file';
      readonly downloadCode: string | undefined;
      readonly fileName: string | undefined;
    }
  | { readonly type: 'video'; readonly downloadCode: string | undefined }
  | {
      readonly type: 'audio';
      readonly downloadCode: string | undefined;
      readonly recognition: string | undefined;
    }
  | { readonly type: 'unsupported'; readonly msgtype: string };

/** The message a user quoted in their reply (one level deep). */
export interface QuotedMessage {
  readonly msgtype: string;
  readonly segments: readonly InboundSegment[];
}

type JsonRecord = Record<string, unknown>;

/** An object, or a JSON string holding one (DingTalk sends both); else undefined. */
export function asRecord(value: unknown): JsonRecord | undefined {
  if (typeof value === 'string') {
    try {
      return asRecord(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonRecord)
    : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Placeholder text for media in the plain-text view of a message. */
export const PLACEHOLDERS = {
  picture: '[picture]',
  video: '[video]',
  audio: '[voice message]',
  file: (name: string | undefined) => (name === undefined ? '[file]' : `[file: ${name}]`),
  unsupported: (type: string) => `[unsupported message type: ${type}]`,
} as const;

function mediaSegment(type: string | undefined, record: JsonRecord): InboundSegment | undefined {
  const downloadCode = stringOf(record['downloadCode']) ?? stringOf(record['pictureDownloadCode']);
  switch (type) {
    case 'picture':
    case 'image':
      return { type: 'picture', downloadCode };
    case 'file':
      return { type: 'file', downloadCode, fileName: stringOf(record['fileName']) };
    case 'video':
      return { type: 'video', downloadCode };
    case 'audio':
    case 'voice':
      return { type: 'audio', downloadCode, recognition: stringOf(record['recognition']) };
    case undefined:
    default:
      return undefined;
  }
}

function richTextElement(element: JsonRecord): InboundSegment | undefined {
  const type = stringOf(element['type']);
  const text = stringOf(element['text']);
  if (text !== undefined && (type === undefined || type === 'text')) return { type: 'text', text };
  if (type === 'at') {
    const name = stringOf(element['atName']);
    return name === undefined ? undefined : { type: 'text', text: `@${name}` };
  }
  return mediaSegment(type, element) ?? (text === undefined ? undefined : { type: 'text', text });
}

function richTextSegments(content: JsonRecord | undefined): InboundSegment[] {
  const direct = content?.['richText'];
  // Current payloads carry `richText: [...]`; some older ones `richText: { richTextList: [...] }`.
  const list = Array.isArray(direct)
    ? direct
    : (asRecord(direct)?.['richTextList'] ?? content?.['richTextList']);
  if (!Array.isArray(list)) return [];
  return list.flatMap((element) => {
    const record = asRecord(element);
    const segment = record === undefined ? undefined : richTextElement(record);
    return segment === undefined ? [] : [segment];
  });
}

/** The segments of a message body of type `msgtype` with `content` (also used for quoted messages). */
export function segmentsOf(
  msgtype: string,
  content: JsonRecord | undefined,
  text: string | undefined,
): InboundSegment[] {
  switch (msgtype) {
    case 'text': {
      const body = text ?? stringOf(content?.['content']) ?? stringOf(content?.['text']);
      return body === undefined ? [] : [{ type: 'text', text: body }];
    }
    case 'richText':
      return richTextSegments(content);
    case 'markdown': {
      const body = stringOf(content?.['text']);
      return body === undefined ? [{ type: 'unsupported', msgtype }] : [{ type: 'text', text: body }];
    }
    case 'chatRecord': {
      const body = [stringOf(content?.['title']), stringOf(content?.['summary'])].filter(
        (part) => part !== undefined,
      );
      return body.length === 0
        ? [{ type: 'unsupported', msgtype }]
        : [{ type: 'text', text: body.join('\n') }];
    }
    default: {
      const segment = mediaSegment(msgtype, content ?? {});
      return [segment ?? { type: 'unsupported', msgtype }];
    }
  }
}

/** The segments of a bot message, in order. */
export function messageSegments(message: BotMessage): InboundSegment[] {
  return segmentsOf(message.msgtype, asRecord(message.content), message.text?.content);
}

/** The quoted message of a reply-with-quote (`isReplyMsg` + `repliedMsg` in `text` or `content`). */
export function quotedMessageOf(message: BotMessage): QuotedMessage | undefined {
  const holder = message.msgtype === 'text' ? asRecord(message.text) : asRecord(message.content);
  const replied = asRecord(holder?.['repliedMsg']);
  if (holder?.['isReplyMsg'] !== true || replied === undefined) return undefined;
  const msgtype = stringOf(replied['msgType']) ?? stringOf(replied['msgtype']) ?? 'unknownMsgType';
  const content = asRecord(replied['content']);
  const segments = segmentsOf(msgtype, content, msgtype === 'text' ? stringOf(content?.['text']) : undefined);
  return { msgtype, segments };
}

/** The plain-text view of segments: text as is, media as placeholders, audio as its transcript. */
export function renderSegments(segments: readonly InboundSegment[]): string {
  let joined = '';
  for (const segment of segments) {
    const part = segmentText(segment);
    if (part === '') continue;
    // Text segments carry their own line breaks; a placeholder gets a line of its own.
    const needsBreak = joined !== '' && !joined.endsWith('\n') && !part.startsWith('\n');
    joined += needsBreak ? `\n${part}` : part;
  }
  return joined;
}

function segmentText(segment: InboundSegment): string {
  switch (segment.type) {
    case 'text':
      return segment.text;
    case 'picture':
      return PLACEHOLDERS.picture;
    case 'file':
      return PLACEHOLDERS.file(segment.fileName);
    case 'video':
      return PLACEHOLDERS.video;
    case 'audio':
      return segment.recognition ?? PLACEHOLDERS.audio;
    case 'unsupported':
      return PLACEHOLDERS.unsupported(segment.msgtype);
  }
}
