/**
 * Play time of audio and video files, read from their bytes without external tools: DingTalk's
 * `sampleAudio` needs `duration` and `sampleVideo` wants one too (dingtalk-protocol.md §5.3).
 *
 * Every reader bounds-checks each access and always advances, so malformed or truncated input yields
 * `undefined` (or a shorter duration for a cut-off stream), never an exception or an endless loop.
 */

import { ByteReader } from './byte-reader.js';
import { probeMp3DurationMs } from './mp3-duration.js';

/** AMR stores one speech frame per 20 ms. */
const AMR_FRAME_MS = 20;
const AMR_NB_MAGIC = '#!AMR\n';
const AMR_WB_MAGIC = '#!AMR-WB\n';
/** Bytes per frame (1-byte header included) by frame type; `0` marks a type that is not valid here. */
const AMR_NB_FRAME_BYTES = [13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1] as const;
const AMR_WB_FRAME_BYTES = [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1] as const;
const UINT32_UNKNOWN = 0xffffffff;

/**
 * Duration in milliseconds (rounded) of an `mp4` (also `m4a`/`mov`: `moov/mvhd`, versions 0 and 1),
 * `wav` (`fmt ` byte rate and `data` size), `amr` (AMR-NB or AMR-WB frame count) or `mp3` file (see
 * `probeMp3DurationMs`). `ext` may have a leading dot and any case.
 *
 * @param bytes The whole file (an mp4 may keep `moov` at the end).
 * @returns `undefined` when the format is unknown or the file does not state a usable duration.
 */
export function probeDurationMs(bytes: Uint8Array, ext: string): number | undefined {
  const reader = new ByteReader(bytes);
  switch (ext.replace(/^\./, '').toLowerCase()) {
    case 'mp4':
    case 'm4a':
    case 'mov':
      return mp4DurationMs(reader);
    case 'wav':
      return wavDurationMs(reader);
    case 'amr':
      return amrDurationMs(reader);
    case 'mp3':
      return probeMp3DurationMs(bytes);
    default:
      return undefined;
  }
}

interface Box {
  readonly bodyStart: number;
  readonly end: number;
}

/** The first box of `type` among the boxes in [start, end); a box cut off by `end` is clipped. */
function findBox(reader: ByteReader, start: number, end: number, type: string): Box | undefined {
  for (let offset = start; offset + 8 <= end;) {
    let size = reader.u32be(offset);
    const boxType = reader.ascii(offset + 4, 4);
    if (size === undefined || boxType === undefined) return undefined;
    let headerBytes = 8;
    if (size === 1) {
      size = reader.u64be(offset + 8);
      headerBytes = 16;
      if (size === undefined) return undefined;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < headerBytes) return undefined;
    if (boxType === type) return { bodyStart: offset + headerBytes, end: Math.min(offset + size, end) };
    offset += size;
  }
  return undefined;
}

function mp4DurationMs(reader: ByteReader): number | undefined {
  const moov = findBox(reader, 0, reader.length, 'moov');
  const mvhd = moov && findBox(reader, moov.bodyStart, moov.end, 'mvhd');
  if (mvhd === undefined) return undefined;
  const version = reader.u8(mvhd.bodyStart);
  // Version 0 stores creation/modification times and duration in 32 bits, version 1 in 64.
  if (version !== 0 && version !== 1) return undefined;
  const timescale = reader.u32be(mvhd.bodyStart + (version === 1 ? 20 : 12));
  const durationOffset = mvhd.bodyStart + (version === 1 ? 24 : 16);
  const durationLow = reader.u32be(durationOffset + (version === 1 ? 4 : 0));
  const durationHigh = version === 1 ? reader.u32be(durationOffset) : 0;
  if (timescale === undefined || timescale === 0 || durationLow === undefined || durationHigh === undefined) {
    return undefined;
  }
  // All ones means "unknown"; fragmented files keep 0 here and the real length in the fragments.
  const isAllOnes = durationLow === UINT32_UNKNOWN && (version === 0 || durationHigh === UINT32_UNKNOWN);
  const duration = durationHigh * 2 ** 32 + durationLow;
  if (isAllOnes || duration === 0) return undefined;
  return Math.round((duration * 1000) / timescale);
}

function wavDurationMs(reader: ByteReader): number | undefined {
  if (reader.ascii(0, 4) !== 'RIFF' || reader.ascii(8, 4) !== 'WAVE') return undefined;
  let byteRate: number | undefined;
  let dataBytes: number | undefined;
  for (let offset = 12; offset + 8 <= reader.length && (byteRate === undefined || dataBytes === undefined);) {
    const id = reader.ascii(offset, 4);
    const size = reader.u32le(offset + 4) ?? 0;
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16) return undefined;
      byteRate = reader.u32le(body + 8);
    } else if (id === 'data') {
      // Streaming writers leave 0 or 0xFFFFFFFF here; a truncated file holds less than stated.
      const available = reader.length - body;
      dataBytes = size === 0 || size === UINT32_UNKNOWN || size > available ? available : size;
    }
    // Chunks are padded to an even size.
    offset = body + size + (size % 2);
  }
  if (byteRate === undefined || byteRate === 0 || dataBytes === undefined) return undefined;
  return Math.round((dataBytes * 1000) / byteRate);
}

function amrDurationMs(reader: ByteReader): number | undefined {
  const isWideband = reader.ascii(0, AMR_WB_MAGIC.length) === AMR_WB_MAGIC;
  if (!isWideband && reader.ascii(0, AMR_NB_MAGIC.length) !== AMR_NB_MAGIC) return undefined;
  const frameBytes = isWideband ? AMR_WB_FRAME_BYTES : AMR_NB_FRAME_BYTES;
  let frames = 0;
  let offset = isWideband ? AMR_WB_MAGIC.length : AMR_NB_MAGIC.length;
  while (offset < reader.length) {
    const header = reader.u8(offset) ?? 0;
    const size = frameBytes[(header >> 3) & 0x0f] ?? 0;
    if (size === 0) return undefined;
    // A frame cut off at the end is not played.
    if (offset + size > reader.length) break;
    frames += 1;
    offset += size;
  }
  return frames * AMR_FRAME_MS;
}
