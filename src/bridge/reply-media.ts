import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import type { MediaConfig } from '../config/types.js';
import type { MediaMessage } from '../dingtalk/outgoing-message.js';
import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type MediaAttachment, extractMediaTags } from '../media/media-tags.js';
import { checkUploadable, fileExtension, mimeForFileName } from '../media/media-kinds.js';
import { RemoteFetchError } from '../media/remote-fetch.js';
import { probeDurationMs } from '../media/media-probe.js';
import { resolveMediaPath } from '../media/path-guard.js';

/** Upload `type` of DingTalk's `media/upload`. */
export type UploadType = 'image' | 'voice' | 'video' | 'file';

/** What the reply pipeline needs to turn attachments into DingTalk media. */
export interface ReplyMediaServices {
  /** Uploads one file for an account; resolves with the media id. */
  upload(
    accountId: string,
    file: { type: UploadType; fileName: string; contentType: string; bytes: Buffer },
    signal: AbortSignal,
  ): Promise<string>;
  /** Fetches an http(s) URL within the media limits (only called when remote URLs are allowed). */
  fetchRemote(url: string, signal: AbortSignal): Promise<{ bytes: Buffer; contentType: string | undefined }>;
  /** Media id of the neutral cover image used for videos (uploaded once per account). */
  videoCover(accountId: string, signal: AbortSignal): Promise<string | undefined>;
}

/** The reply with attachments taken out: text (images inline in markdown), media messages, problems. */
export interface PreparedReply {
  readonly text: string;
  readonly media: MediaMessage[];
  /** One short line per reason, e.g. "⚠️ 2 files could not be sent: outside allowed folders". */
  readonly notices: string[];
}

interface Loaded {
  readonly bytes: Buffer;
  readonly fileName: string;
  readonly contentType: string;
}

/** Why an attachment was not sent; the user sees these words. */
class AttachmentRefused extends Error {}

const REFUSAL_TEXT: Record<string, string> = {
  'outside-roots': 'outside allowed folders',
  'no-roots': 'no media folders are configured',
  'not-found': 'file not found',
  'not-a-file': 'not a file',
  'too-large': 'too large',
  'unsupported-type': 'file type not supported by DingTalk',
};

async function load(
  attachment: MediaAttachment,
  roots: readonly string[],
  limits: MediaConfig,
  services: ReplyMediaServices,
  signal: AbortSignal,
): Promise<Loaded> {
  if (attachment.source.type === 'url') {
    if (!limits.allowRemoteUrls) throw new AttachmentRefused('links to remote files are disabled');
    const remote = await services.fetchRemote(attachment.source.url, signal);
    const fromUrl = decodeURIComponent(basename(new URL(attachment.source.url).pathname)) || 'file';
    const fileName = attachment.name ?? fromUrl;
    return { bytes: remote.bytes, fileName, contentType: remote.contentType ?? mimeForFileName(fileName) };
  }
  const resolved = await resolveMediaPath(attachment.source.path, roots, limits.maxOutboundFileBytes);
  if (!resolved.ok) throw new AttachmentRefused(REFUSAL_TEXT[resolved.reason] ?? resolved.reason);
  const fileName = attachment.name ?? basename(resolved.realPath);
  return { bytes: await readFile(resolved.realPath), fileName, contentType: mimeForFileName(fileName) };
}

async function toMedia(
  attachment: MediaAttachment,
  loaded: Loaded,
  accountId: string,
  services: ReplyMediaServices,
  signal: AbortSignal,
): Promise<{ image: string } | MediaMessage> {
  const check = checkUploadable(attachment.kind, loaded.fileName, loaded.bytes.length);
  if (!check.ok) throw new AttachmentRefused(REFUSAL_TEXT[check.reason] ?? check.reason);
  const extension = fileExtension(loaded.fileName);
  let type: UploadType = check.uploadType;
  const durationMs =
    type === 'voice' || type === 'video' ? probeDurationMs(loaded.bytes, extension) : undefined;
  // Without a duration DingTalk cannot show a player: such audio and video go as plain files.
  if ((type === 'voice' || type === 'video') && durationMs === undefined) type = 'file';
  const mediaId = await services.upload(
    accountId,
    { type, fileName: loaded.fileName, contentType: loaded.contentType, bytes: loaded.bytes },
    signal,
  );
  switch (type) {
    case 'image':
      return { image: mediaId };
    case 'voice':
      return { kind: 'audio', mediaId, durationMs: durationMs ?? 0 };
    case 'video':
      return {
        kind: 'video',
        mediaId,
        durationSeconds: Math.max(1, Math.round((durationMs ?? 0) / 1000)),
        videoType: extension,
        coverMediaId: await services.videoCover(accountId, signal),
      };
    case 'file':
      return { kind: 'file', mediaId, fileName: loaded.fileName, fileType: extension || check.fileType };
  }
}

const REMOTE_FAILURE_TEXT: Record<string, string> = {
  'refused-address': 'link points to a private network',
  'too-large': 'too large',
  'bad-url': 'invalid link',
};

function failureReason(error: unknown): string {
  if (error instanceof AttachmentRefused) return error.message;
  if (error instanceof RemoteFetchError) return REMOTE_FAILURE_TEXT[error.reason] ?? 'download failed';
  return 'upload failed';
}

function noticeLines(failures: ReadonlyMap<string, number>): string[] {
  return [...failures].map(
    ([reason, count]) => `⚠️ ${count} ${count === 1 ? 'file' : 'files'} could not be sent: ${reason}`,
  );
}

/** Where and how attachments are turned into DingTalk media. */
export interface AttachmentContext {
  readonly accountId: string;
  readonly replyMode: 'text' | 'markdown';
  readonly mediaRoots: readonly string[];
  readonly limits: MediaConfig;
  readonly services: ReplyMediaServices;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** Attachments turned into DingTalk media: inline image markdown, media messages, notice lines. */
export interface PreparedAttachments {
  /** `![name](mediaId)` paragraphs for markdown replies. */
  readonly inlineImages: string[];
  readonly media: MediaMessage[];
  readonly notices: string[];
}

/**
 * Turns attachments (already taken out of the reply text) and run artifacts into DingTalk media: images inline
 * (`![name](mediaId)`) in markdown mode, or as image messages in text mode; files, voice and video
 * as their own messages. Paths must lie inside `mediaRoots`; nothing is read for a refused path.
 * Every failure becomes a short notice line and a warning log.
 */
export async function prepareAttachments(
  attachments: readonly MediaAttachment[],
  problems: readonly { reason: string }[],
  context: AttachmentContext,
  artifacts: readonly RunArtifact[] = [],
): Promise<PreparedAttachments> {
  const failures = new Map<string, number>();
  const fail = (reason: string): void => {
    failures.set(reason, (failures.get(reason) ?? 0) + 1);
  };
  for (const problem of problems) {
    context.log.warn({ reason: problem.reason }, 'malformed attachment tag in the reply');
    fail('malformed attachment tag');
  }
  const media: MediaMessage[] = [];
  const inlineImages: string[] = [];
  const sources = [
    ...attachments.map((attachment) => ({ attachment, file: undefined })),
    ...artifacts.map((artifact) => ({
      attachment: artifactAttachment(artifact),
      file: artifactFile(artifact),
    })),
  ];
  for (const { attachment, file } of sources) {
    try {
      const loaded =
        file ??
        (await load(attachment, context.mediaRoots, context.limits, context.services, context.signal));
      const result = await toMedia(attachment, loaded, context.accountId, context.services, context.signal);
      if (!('image' in result)) media.push(result);
      else if (context.replyMode === 'markdown')
        inlineImages.push(`![${loaded.fileName.replace(/[[\]]/g, '')}](${result.image})`);
      else media.push({ kind: 'image', mediaId: result.image });
    } catch (error) {
      if (context.signal.aborted) throw error;
      const reason = failureReason(error);
      context.log.warn(
        { kind: attachment.kind, source: attachment.source.type, reason, error: describeCause(error) },
        'attachment not sent',
      );
      fail(reason);
    }
  }
  return { inlineImages, media, notices: noticeLines(failures) };
}

/** A file the agent's run produced (WebSocket transport artifacts), already downloaded. */
export interface RunArtifact {
  readonly fileName: string;
  readonly contentType: string | undefined;
  readonly bytes: Buffer;
}

function artifactAttachment(artifact: RunArtifact): MediaAttachment {
  return {
    kind: 'auto',
    source: { type: 'path', path: artifact.fileName },
    name: artifact.fileName,
    raw: '',
  };
}

function artifactFile(artifact: RunArtifact): Loaded {
  return {
    bytes: artifact.bytes,
    fileName: artifact.fileName,
    contentType: artifact.contentType ?? mimeForFileName(artifact.fileName),
  };
}

/** {@link prepareAttachments} for a complete reply text: tags taken out, images appended inline. */
export async function prepareReply(text: string, context: AttachmentContext): Promise<PreparedReply> {
  const extracted = extractMediaTags(text);
  const prepared = await prepareAttachments(extracted.attachments, extracted.problems, context);
  const body = [extracted.text.trim(), ...prepared.inlineImages].filter((part) => part !== '').join('\n\n');
  return { text: body, media: prepared.media, notices: prepared.notices };
}
