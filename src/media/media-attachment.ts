/**
 * What an attachment request is, and how one is read from a `MEDIA:` line or a scanned
 * `[DING:…]` tag. The document-level filter lives in `media-tags.ts`.
 */

import { parseMediaSource, type MediaSource } from './media-source.js';

/** What the agent asked to send. `auto` (a `MEDIA:` line) is decided later from the file name. */
export type MediaAttachmentKind = 'image' | 'file' | 'video' | 'audio' | 'auto';

/** One attachment the agent asked for. */
export interface MediaAttachment {
  readonly kind: MediaAttachmentKind;
  readonly source: MediaSource;
  /** Display name from the tag's `name` attribute, as written. */
  readonly name: string | undefined;
  /** The tag or `MEDIA:` line as written (without the surrounding whitespace). */
  readonly raw: string;
}

/** Why a `[DING:…]` tag was removed without producing an attachment. */
export type MediaTagProblemReason =
  'unterminated' | 'malformed' | 'unknown-kind' | 'missing-path' | 'unsupported-source';

/** A removed tag that could not become an attachment; worth a log line and maybe a notice. */
export interface MediaTagProblem {
  readonly raw: string;
  readonly reason: MediaTagProblemReason;
}

const TAG_KINDS: ReadonlyMap<string, MediaAttachmentKind> = new Map([
  ['image', 'image'],
  ['file', 'file'],
  ['video', 'video'],
  ['audio', 'audio'],
]);
const MEDIA_LINE = /^\s*MEDIA:\s*(.*?)\s*$/;
const CODE_WRAPPED = /^`([^`]+)`$/;
/** Values a `MEDIA:` line may carry; anything else there is prose, as in OpenClaw's own parser. */
const MEDIA_VALUE = /^(?:https?:\/\/\S+|file:\S+|\.?\/.*)$/i;

/**
 * The attachment a whole line `MEDIA:<value>` asks for (surrounding whitespace and backticks around
 * the value allowed), or `undefined` when the value is not an absolute path, `./` path or URL.
 */
export function parseMediaLine(line: string): MediaAttachment | undefined {
  const value = MEDIA_LINE.exec(line)?.[1] ?? '';
  const unwrapped = (CODE_WRAPPED.exec(value)?.[1] ?? value).trim();
  if (!MEDIA_VALUE.test(unwrapped)) return undefined;
  const source = parseMediaSource(unwrapped);
  if (source === undefined) return undefined;
  return { kind: 'auto', source, name: undefined, raw: line.trim() };
}

/**
 * The attachment a complete tag asks for, or the problem that keeps it from being one.
 *
 * @param kind Lower-cased kind word; `attributes` have lower-cased names.
 */
export function attachmentFromTag(
  raw: string,
  kind: string,
  attributes: ReadonlyMap<string, string>,
  isMalformed: boolean,
): MediaAttachment | MediaTagProblem {
  const attachmentKind = TAG_KINDS.get(kind);
  if (attachmentKind === undefined) return { raw, reason: 'unknown-kind' };
  if (isMalformed) return { raw, reason: 'malformed' };
  const path = attributes.get('path') ?? '';
  if (path.trim() === '') return { raw, reason: 'missing-path' };
  const source = parseMediaSource(path);
  if (source === undefined) return { raw, reason: 'unsupported-source' };
  const name = attributes.get('name');
  return { kind: attachmentKind, source, name: name === '' ? undefined : name, raw };
}
