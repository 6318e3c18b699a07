/**
 * DingTalk's media kinds and upload limits (dingtalk-protocol.md §6.1), how a file maps to one, and
 * cheap content checks: image MIME sniffing for outbound files and "is this text" for inbound ones.
 */

import { posix } from 'node:path';

import type { MediaAttachmentKind } from './media-attachment.js';

/** The `type` query value of `oapi /media/upload`, and the kind of message it can be sent as. */
export type DingTalkMediaKind = 'image' | 'voice' | 'video' | 'file';

/** Per-kind upload limit and accepted extensions (lower case, no dot). */
export interface DingTalkMediaLimit {
  readonly maxBytes: number;
  readonly extensions: readonly string[];
}

const MIB = 1024 * 1024;

/**
 * Upload limits as documented: image 20 MB (jpg, gif, png, bmp), voice 2 MB (amr, mp3, wav), video
 * 20 MB (mp4), file 20 MB (doc, docx, xls, xlsx, ppt, pptx, zip, pdf, rar). "MB" is read as MiB.
 * `jpeg` is accepted as the same format as `jpg`.
 */
export const DINGTALK_MEDIA_LIMITS = {
  image: { maxBytes: 20 * MIB, extensions: ['jpg', 'jpeg', 'gif', 'png', 'bmp'] },
  voice: { maxBytes: 2 * MIB, extensions: ['amr', 'mp3', 'wav'] },
  video: { maxBytes: 20 * MIB, extensions: ['mp4'] },
  file: {
    maxBytes: 20 * MIB,
    extensions: ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'zip', 'pdf', 'rar'],
  },
} as const satisfies Record<DingTalkMediaKind, DingTalkMediaLimit>;

const KIND_BY_EXTENSION: ReadonlyMap<string, DingTalkMediaKind> = new Map(
  (Object.keys(DINGTALK_MEDIA_LIMITS) as DingTalkMediaKind[]).flatMap((kind) =>
    DINGTALK_MEDIA_LIMITS[kind].extensions.map((extension) => [extension, kind] as const),
  ),
);

/** MIME type → the extension DingTalk knows the format by. */
const EXTENSION_BY_MIME: ReadonlyMap<string, string> = new Map([
  ['image/jpeg', 'jpg'],
  ['image/jpg', 'jpg'],
  ['image/png', 'png'],
  ['image/gif', 'gif'],
  ['image/bmp', 'bmp'],
  ['image/x-ms-bmp', 'bmp'],
  ['audio/amr', 'amr'],
  ['audio/mpeg', 'mp3'],
  ['audio/mp3', 'mp3'],
  ['audio/wav', 'wav'],
  ['audio/x-wav', 'wav'],
  ['audio/wave', 'wav'],
  ['video/mp4', 'mp4'],
  ['application/msword', 'doc'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
  ['application/vnd.ms-excel', 'xls'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
  ['application/vnd.ms-powerpoint', 'ppt'],
  ['application/vnd.openxmlformats-officedocument.presentationml.presentation', 'pptx'],
  ['application/zip', 'zip'],
  ['application/pdf', 'pdf'],
  ['application/vnd.rar', 'rar'],
  ['application/x-rar-compressed', 'rar'],
]);

/** The extension of a file name, lower case without the dot; `''` when there is none. */
export function fileExtension(fileName: string): string {
  return posix.extname(fileName).slice(1).toLowerCase();
}

/** The DingTalk kind for an extension (with or without the dot, any case), or `undefined`. */
export function kindForExtension(extension: string): DingTalkMediaKind | undefined {
  return KIND_BY_EXTENSION.get(extension.replace(/^\./, '').toLowerCase());
}

/**
 * The extension DingTalk knows a MIME type's format by (`image/jpeg` → `jpg`), ignoring parameters
 * and case; `undefined` for a format DingTalk does not accept. Use it to name a download whose URL
 * has no usable extension.
 */
export function extensionForMime(mime: string): string | undefined {
  return EXTENSION_BY_MIME.get(mime.split(';')[0]?.trim().toLowerCase() ?? '');
}

/** Extension → the first MIME type {@link EXTENSION_BY_MIME} lists for it (`jpg` → `image/jpeg`). */
const MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map(
  [...EXTENSION_BY_MIME].reverse().map(([mime, extension]) => [extension, mime] as const),
);

/** Text formats with a MIME type of their own; other text extensions are `text/plain`. */
const TEXT_MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ['csv', 'text/csv'],
  ['tsv', 'text/tab-separated-values'],
  ['md', 'text/markdown'],
  ['markdown', 'text/markdown'],
  ['html', 'text/html'],
  ['htm', 'text/html'],
  ['json', 'application/json'],
  ['xml', 'application/xml'],
]);

/**
 * A MIME type for a file by its name: the first MIME type DingTalk knows its extension by, a text
 * type for the extensions of {@link TEXT_FILE_EXTENSIONS}, else `application/octet-stream`.
 */
export function mimeForFileName(fileName: string): string {
  const extension = fileExtension(fileName);
  const known = MIME_BY_EXTENSION.get(extension === 'jpeg' ? 'jpg' : extension);
  if (known !== undefined) return known;
  if (TEXT_FILE_EXTENSIONS.has(extension)) return TEXT_MIME_BY_EXTENSION.get(extension) ?? 'text/plain';
  return 'application/octet-stream';
}

/** The DingTalk kind for a MIME type (see {@link extensionForMime}), or `undefined`. */
export function kindForMime(mime: string): DingTalkMediaKind | undefined {
  const extension = extensionForMime(mime);
  return extension === undefined ? undefined : kindForExtension(extension);
}

/** Outcome of {@link checkUploadable}. */
export type UploadCheck =
  | {
      readonly ok: true;
      /** The `type` query value for `media/upload`. */
      readonly uploadType: DingTalkMediaKind;
      /** Lower-case extension, for `sampleFile.fileType` / `sampleVideo.videoType`. */
      readonly fileType: string;
    }
  | { readonly ok: false; readonly reason: 'unsupported-type' | 'too-large'; readonly detail: string };

/**
 * Decides whether and how a file can be uploaded. The extension decides the upload type, because
 * DingTalk accepts each format under one type only: a `[DING:FILE]` naming `a.png` uploads as an
 * image, and an image tag naming `a.pdf` as a file. The hint is advisory; it only shows in `detail`.
 *
 * @param sizeBytes File size in bytes; over the kind's `maxBytes` → `too-large`.
 * @returns `unsupported-type` for an extension no kind accepts (webp, ogg, mov, no extension).
 */
export function checkUploadable(
  kindHint: MediaAttachmentKind,
  fileName: string,
  sizeBytes: number,
): UploadCheck {
  const fileType = fileExtension(fileName);
  const uploadType = KIND_BY_EXTENSION.get(fileType);
  if (uploadType === undefined) {
    const shown = fileType === '' ? 'no extension' : `.${fileType}`;
    return {
      ok: false,
      reason: 'unsupported-type',
      detail: `${kindHint} attachment with ${shown} is not a format DingTalk accepts`,
    };
  }
  const { maxBytes } = DINGTALK_MEDIA_LIMITS[uploadType];
  if (sizeBytes > maxBytes) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `${uploadType} uploads are limited to ${maxBytes} bytes; this one has ${sizeBytes}`,
    };
  }
  return { ok: true, uploadType, fileType };
}

/**
 * The image MIME type from a file's first bytes: PNG, JPEG, GIF, WebP or BMP (with a plausible
 * header, not just `BM`). `undefined` for anything else, including too few bytes.
 */
export function sniffImageMime(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWithAscii(bytes, 0, 'GIF87a') || startsWithAscii(bytes, 0, 'GIF89a')) return 'image/gif';
  if (startsWithAscii(bytes, 0, 'RIFF') && startsWithAscii(bytes, 8, 'WEBP')) return 'image/webp';
  if (isBmp(bytes)) return 'image/bmp';
  return undefined;
}

/** BITMAPCOREHEADER, BITMAPINFOHEADER and its V2–V5 successors. */
const BMP_DIB_HEADER_BYTES = new Set([12, 40, 52, 56, 64, 108, 124]);

function isBmp(bytes: Uint8Array): boolean {
  if (bytes.length < 18 || !startsWithAscii(bytes, 0, 'BM')) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(6, true) === 0 && BMP_DIB_HEADER_BYTES.has(view.getUint32(14, true));
}

/** Extensions of inbound files worth handing to the agent as text. */
export const TEXT_FILE_EXTENSIONS: ReadonlySet<string> = new Set([
  ...['txt', 'md', 'markdown', 'csv', 'tsv', 'json', 'jsonl', 'xml', 'yaml', 'yml', 'log', 'ini', 'toml'],
  ...['html', 'htm', 'css', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'py', 'java', 'go', 'rs'],
  ...['c', 'cpp', 'cc', 'h', 'hpp', 'sh', 'sql', 'kt', 'rb', 'php', 'swift', 'conf', 'properties'],
]);

/**
 * Whether an inbound file is text: its extension is in {@link TEXT_FILE_EXTENSIONS} and `bytes` are
 * valid UTF-8 (a BOM is fine) without NUL. `bytes` may be the whole file or a prefix of it: a
 * multi-byte sequence cut off at the end is tolerated.
 */
export function isTextLike(fileName: string, bytes: Uint8Array): boolean {
  if (!TEXT_FILE_EXTENSIONS.has(fileExtension(fileName))) return false;
  if (bytes.includes(0)) return false;
  try {
    // `stream: true` leaves a sequence cut off at the end pending instead of failing on it.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

function startsWith(bytes: Uint8Array, offset: number, expected: readonly number[]): boolean {
  return bytes.length >= offset + expected.length && expected.every((byte, k) => bytes[offset + k] === byte);
}

function startsWithAscii(bytes: Uint8Array, offset: number, expected: string): boolean {
  return startsWith(
    bytes,
    offset,
    Array.from(expected, (char) => char.charCodeAt(0)),
  );
}
