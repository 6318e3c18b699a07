import type { InboundMessage } from './inbound-message.js';
import type { InboundSegment, QuotedMessage } from './message-content.js';

/** The line put where a too long text was cut, so the agent knows it sees only the start. */
export function truncationNote(keptChars: number, totalChars: number): string {
  return `\n\n[… message cut by the gateway: it had ${totalChars} characters, only the first ${keptChars} are shown]`;
}

/** `text` cut to at most `maxChars` without splitting a surrogate pair. */
function cut(text: string, maxChars: number): string {
  const end = maxChars > 0 && isHighSurrogate(text.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function textChars(segments: readonly InboundSegment[]): number {
  return segments.reduce((sum, segment) => sum + (segment.type === 'text' ? segment.text.length : 0), 0);
}

/** Text segments share `maxChars`; the one that crosses it is cut and carries the note, later ones go. */
function boundSegments(segments: readonly InboundSegment[], maxChars: number): readonly InboundSegment[] {
  const total = textChars(segments);
  if (total <= maxChars) return segments;
  const bounded: InboundSegment[] = [];
  let left = maxChars;
  let isCut = false;
  for (const segment of segments) {
    if (segment.type !== 'text') {
      bounded.push(segment);
      continue;
    }
    if (isCut) continue;
    if (segment.text.length <= left) {
      bounded.push(segment);
      left -= segment.text.length;
      continue;
    }
    bounded.push({ type: 'text', text: `${cut(segment.text, left)}${truncationNote(maxChars, total)}` });
    isCut = true;
  }
  return bounded;
}

function boundQuoted(quoted: QuotedMessage | undefined, maxChars: number): QuotedMessage | undefined {
  if (quoted === undefined) return undefined;
  const segments = boundSegments(quoted.segments, maxChars);
  return segments === quoted.segments ? quoted : { ...quoted, segments };
}

/** Result of {@link boundInboundText}: the message to record, and its original text length when cut. */
export interface BoundedMessage {
  readonly message: InboundMessage;
  /** Characters of the text before it was cut; undefined when nothing was cut. */
  readonly cutFromChars: number | undefined;
}

/**
 * Bounds what one user message can make the gateway store and send to the agent: its text, its
 * text segments and the quoted message's text are each cut to `maxChars` (JS string length), with
 * a {@link truncationNote} at the cut. Media segments are untouched (bounded elsewhere).
 */
export function boundInboundText(message: InboundMessage, maxChars: number): BoundedMessage {
  const segments = boundSegments(message.segments, maxChars);
  const quoted = boundQuoted(message.quoted, maxChars);
  const isTextCut = message.text.length > maxChars;
  if (!isTextCut && segments === message.segments && quoted === message.quoted) {
    return { message, cutFromChars: undefined };
  }
  const text = isTextCut
    ? `${cut(message.text, maxChars)}${truncationNote(maxChars, message.text.length)}`
    : message.text;
  const longest = Math.max(message.text.length, textChars(message.segments));
  return { message: { ...message, text, segments, quoted }, cutFromChars: longest };
}
