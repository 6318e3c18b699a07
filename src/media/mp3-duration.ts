/**
 * MP3 (MPEG-1/2/2.5 audio, layers I–III) play time from the frame headers: the frame count of a
 * Xing/Info or VBRI header when the first frame carries one, else a constant-bitrate estimate.
 */

import { ByteReader } from './byte-reader.js';

type MpegVersion = '1' | '2' | '2.5';

interface FrameHeader {
  readonly version: MpegVersion;
  readonly layer: 1 | 2 | 3;
  readonly bitrateKbps: number;
  readonly sampleRateHz: number;
  readonly samplesPerFrame: number;
  readonly frameBytes: number;
  readonly isMono: boolean;
}

/** Bitrates in kbit/s by bitrate index 1–14 (0 is "free format", 15 is invalid). */
const BITRATES_KBPS = {
  v1l1: [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
} as const;
const SAMPLE_RATES_HZ = {
  '1': [44100, 48000, 32000],
  '2': [22050, 24000, 16000],
  '2.5': [11025, 12000, 8000],
} as const satisfies Record<MpegVersion, readonly number[]>;
const ID3V2_HEADER_BYTES = 10;
const ID3V1_TAG_BYTES = 128;
/** The VBRI header sits at a fixed distance from the frame start (after 32 bytes of side info). */
const VBRI_OFFSET = 36;
const XING_FRAMES_FLAG = 0x1;
/** How far past the ID3 tags the first frame is looked for, so junk costs bounded time. */
const MAX_SYNC_SEARCH_BYTES = 256 * 1024;

/**
 * Duration in milliseconds (rounded) of an MP3 file. Skips leading ID3v2 tags, finds the first
 * frame whose successor (when there is room for one) is also a frame, then uses the Xing/Info or
 * VBRI frame count, or failing that the first frame's bitrate over the audio bytes (minus an ID3v1
 * tag). `undefined` when no frame is found.
 */
export function probeMp3DurationMs(bytes: Uint8Array): number | undefined {
  const reader = new ByteReader(bytes);
  const start = skipId3v2(reader);
  const first = findFirstFrame(reader, start);
  if (first === undefined) return undefined;
  const { offset, header } = first;
  const frames = xingFrameCount(reader, offset, header) ?? vbriFrameCount(reader, offset);
  if (frames !== undefined && frames > 0) {
    return Math.round((frames * header.samplesPerFrame * 1000) / header.sampleRateHz);
  }
  const end =
    reader.ascii(bytes.length - ID3V1_TAG_BYTES, 3) === 'TAG' ? bytes.length - ID3V1_TAG_BYTES : bytes.length;
  return Math.round(((end - offset) * 8) / header.bitrateKbps);
}

function skipId3v2(reader: ByteReader): number {
  let offset = 0;
  while (reader.ascii(offset, 3) === 'ID3') {
    const flags = reader.u8(offset + 5) ?? 0;
    let size = 0;
    // Tag sizes are "syncsafe": four bytes of seven bits each.
    for (let k = 6; k < 10; k++) size = size * 128 + ((reader.u8(offset + k) ?? 0) & 0x7f);
    const hasFooter = (flags & 0x10) !== 0;
    offset += ID3V2_HEADER_BYTES + size + (hasFooter ? ID3V2_HEADER_BYTES : 0);
  }
  return offset;
}

function findFirstFrame(
  reader: ByteReader,
  start: number,
): { offset: number; header: FrameHeader } | undefined {
  const end = Math.min(reader.length, start + MAX_SYNC_SEARCH_BYTES);
  for (let offset = start; offset + 4 <= end; offset++) {
    const header = parseFrameHeader(reader, offset);
    if (header === undefined) continue;
    // A lone sync pattern in junk is common; require the next frame to agree when it fits.
    const next = offset + header.frameBytes;
    if (next + 4 > reader.length) return { offset, header };
    const following = parseFrameHeader(reader, next);
    if (following?.version === header.version && following.sampleRateHz === header.sampleRateHz) {
      return { offset, header };
    }
  }
  return undefined;
}

function parseFrameHeader(reader: ByteReader, offset: number): FrameHeader | undefined {
  const b0 = reader.u8(offset);
  const b1 = reader.u8(offset + 1);
  const b2 = reader.u8(offset + 2);
  const b3 = reader.u8(offset + 3);
  if (b0 !== 0xff || b1 === undefined || b2 === undefined || b3 === undefined || (b1 & 0xe0) !== 0xe0) {
    return undefined;
  }
  const version = (['2.5', undefined, '2', '1'] as const)[(b1 >> 3) & 0x3];
  const layer = ([undefined, 3, 2, 1] as const)[(b1 >> 1) & 0x3];
  const bitrateIndex = b2 >> 4;
  const sampleRateHz = version === undefined ? undefined : SAMPLE_RATES_HZ[version][(b2 >> 2) & 0x3];
  if (version === undefined || layer === undefined || sampleRateHz === undefined) return undefined;
  const bitrateKbps = bitrateTable(version, layer)[bitrateIndex - 1];
  if (bitrateKbps === undefined) return undefined;
  const padding = (b2 >> 1) & 0x1;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && version !== '1' ? 576 : 1152;
  // Layer I counts 4-byte slots; layers II and III count bytes.
  const frameBytes =
    layer === 1
      ? (Math.floor((12 * bitrateKbps * 1000) / sampleRateHz) + padding) * 4
      : Math.floor((samplesPerFrame / 8) * ((bitrateKbps * 1000) / sampleRateHz)) + padding;
  return { version, layer, bitrateKbps, sampleRateHz, samplesPerFrame, frameBytes, isMono: b3 >> 6 === 3 };
}

function bitrateTable(version: MpegVersion, layer: 1 | 2 | 3): readonly number[] {
  if (version === '1')
    return layer === 1 ? BITRATES_KBPS.v1l1 : layer === 2 ? BITRATES_KBPS.v1l2 : BITRATES_KBPS.v1l3;
  return layer === 1 ? BITRATES_KBPS.v2l1 : BITRATES_KBPS.v2l23;
}

/** Frame count from a Xing (VBR) or Info (CBR) header, which follows the layer III side info. */
function xingFrameCount(reader: ByteReader, offset: number, header: FrameHeader): number | undefined {
  if (header.layer !== 3) return undefined;
  const sideInfoBytes = header.version === '1' ? (header.isMono ? 17 : 32) : header.isMono ? 9 : 17;
  const tagOffset = offset + 4 + sideInfoBytes;
  const tag = reader.ascii(tagOffset, 4);
  if (tag !== 'Xing' && tag !== 'Info') return undefined;
  const flags = reader.u32be(tagOffset + 4);
  if (flags === undefined || (flags & XING_FRAMES_FLAG) === 0) return undefined;
  return reader.u32be(tagOffset + 8);
}

function vbriFrameCount(reader: ByteReader, offset: number): number | undefined {
  if (reader.ascii(offset + VBRI_OFFSET, 4) !== 'VBRI') return undefined;
  return reader.u32be(offset + VBRI_OFFSET + 14);
}
