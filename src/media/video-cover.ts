import { crc32, deflateSync } from 'node:zlib';

/** Size of the generated video cover, in pixels (16:9). */
export const VIDEO_COVER_SIZE = { width: 320, height: 180 } as const;

// A dark grey, the colour DingTalk itself shows behind a loading video.
const COVER_GREY = 0x30;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, checksum]);
}

/**
 * A plain PNG used as the cover of video messages: `sampleVideo` wants a cover image, and the
 * gateway has no video decoder to take a frame. Built in code, so no asset ships with the image.
 */
export function videoCoverPng(): Buffer {
  const { width, height } = VIDEO_COVER_SIZE;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const row = Buffer.alloc(1 + width, COVER_GREY);
  row[0] = 0; // filter: none
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
