import { describe, expect, it } from 'vitest';

import { probeDurationMs } from './media-probe.js';

const ascii = (text: string): number[] => Array.from(text, (char) => char.charCodeAt(0));
const u16be = (value: number): number[] => [(value >>> 8) & 0xff, value & 0xff];
const u32be = (value: number): number[] => [
  value >>> 24,
  (value >>> 16) & 0xff,
  (value >>> 8) & 0xff,
  value & 0xff,
];
const u32le = (value: number): number[] => u32be(value).reverse();
const u64be = (value: number): number[] => [...u32be(Math.floor(value / 2 ** 32)), ...u32be(value % 2 ** 32)];
const zeros = (count: number): number[] => new Array<number>(count).fill(0);
const bytesOf = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

// --- MP4 -----------------------------------------------------------------------------------------

const box = (type: string, ...body: number[][]): number[] => {
  const content = body.flat();
  return [...u32be(8 + content.length), ...ascii(type), ...content];
};
const mvhdV0 = (timescale: number, duration: number): number[] =>
  box('mvhd', [0, 0, 0, 0], zeros(8), u32be(timescale), u32be(duration), zeros(80));
const mvhdV1 = (timescale: number, duration: number): number[] =>
  box('mvhd', [1, 0, 0, 0], zeros(16), u32be(timescale), u64be(duration), zeros(80));
const FTYP = box('ftyp', ascii('isom'), u32be(512), ascii('isommp41'));

describe('probeDurationMs: mp4', () => {
  it.each([
    ['moov after ftyp, version 0', bytesOf(FTYP, box('moov', mvhdV0(1000, 5000)), box('mdat', zeros(64)))],
    [
      'moov at the end',
      bytesOf(FTYP, box('free', zeros(3)), box('mdat', zeros(100)), box('moov', mvhdV0(600, 3000))),
    ],
    ['mvhd after another box', bytesOf(FTYP, box('moov', box('udta', zeros(10)), mvhdV0(1000, 5000)))],
    [
      'a 64-bit mdat size before moov',
      bytesOf(
        FTYP,
        [...u32be(1), ...ascii('mdat'), ...u64be(16 + 8)],
        zeros(8),
        box('moov', mvhdV0(1000, 5000)),
      ),
    ],
    ['a last box sized 0 (to the end)', bytesOf(FTYP, [...u32be(0), ...ascii('moov')], mvhdV0(1000, 5000))],
  ])('%s', (_name, file) => {
    expect(probeDurationMs(file, 'mp4')).toBe(5000);
  });

  it('reads a 64-bit version 1 duration beyond 2^32', () => {
    const timescale = 90_000;
    const duration = timescale * 60 * 60 * 30; // 30 h: more than 2^32 ticks
    expect(duration).toBeGreaterThan(2 ** 32);
    expect(probeDurationMs(bytesOf(FTYP, box('moov', mvhdV1(timescale, duration))), '.M4A')).toBe(
      30 * 3_600_000,
    );
  });

  it.each([
    ['no moov', bytesOf(FTYP, box('mdat', zeros(20)))],
    ['moov without mvhd', bytesOf(FTYP, box('moov', box('trak', zeros(8))))],
    ['unknown duration (all ones)', bytesOf(FTYP, box('moov', mvhdV0(1000, 0xffffffff)))],
    ['zero duration (fragmented)', bytesOf(FTYP, box('moov', mvhdV0(1000, 0)))],
    ['zero timescale', bytesOf(FTYP, box('moov', mvhdV0(0, 5000)))],
    ['an unknown mvhd version', bytesOf(FTYP, box('moov', box('mvhd', [2, 0, 0, 0], zeros(100))))],
    ['mvhd cut short', bytesOf(FTYP, box('moov', mvhdV0(1000, 5000))).subarray(0, FTYP.length + 30)],
    ['a box size below its header', bytesOf(FTYP, [...u32be(4), ...ascii('moov')], mvhdV0(1000, 5000))],
    ['a 64-bit size cut off', bytesOf(FTYP, [...u32be(1), ...ascii('mdat'), 0, 0])],
    ['empty', bytesOf()],
  ])('returns undefined for %s', (_name, file) => {
    expect(probeDurationMs(file, 'mp4')).toBeUndefined();
  });
});

// --- WAV -----------------------------------------------------------------------------------------

const fmtChunk = (channels: number, sampleRateHz: number, bitsPerSample: number): number[] => {
  const blockAlign = (channels * bitsPerSample) / 8;
  return [
    ...ascii('fmt '),
    ...u32le(16),
    ...[1, 0, channels, 0],
    ...u32le(sampleRateHz),
    ...u32le(sampleRateHz * blockAlign),
    ...[blockAlign, 0, bitsPerSample, 0],
  ];
};
const wav = (...chunks: number[][]): Uint8Array => {
  const body = chunks.flat();
  return bytesOf(ascii('RIFF'), u32le(4 + body.length), ascii('WAVE'), body);
};
const dataChunk = (bytes: number, declared = bytes): number[] => [
  ...ascii('data'),
  ...u32le(declared),
  ...zeros(bytes),
];

describe('probeDurationMs: wav', () => {
  it.each([
    ['mono 8 kHz 16-bit, 2 s', wav(fmtChunk(1, 8000, 16), dataChunk(32_000)), 2000],
    ['stereo 44.1 kHz 16-bit, 0.5 s', wav(fmtChunk(2, 44_100, 16), dataChunk(88_200)), 500],
    [
      'an odd-sized LIST chunk before data (padded)',
      wav(fmtChunk(1, 8000, 8), [...ascii('LIST'), ...u32le(3), 1, 2, 3, 0], dataChunk(4000)),
      500,
    ],
    ['streaming size 0xFFFFFFFF', wav(fmtChunk(1, 8000, 8), dataChunk(800, 0xffffffff)), 100],
    ['streaming size 0', wav(fmtChunk(1, 8000, 8), dataChunk(800, 0)), 100],
    ['a truncated data chunk', wav(fmtChunk(1, 8000, 8), dataChunk(400, 8000)), 50],
  ])('%s', (_name, file, expected) => {
    expect(probeDurationMs(file, 'WAV')).toBe(expected);
  });

  it.each([
    ['no fmt chunk', wav(dataChunk(100))],
    ['no data chunk', wav(fmtChunk(1, 8000, 16))],
    ['a short fmt chunk', wav([...ascii('fmt '), ...u32le(8), ...zeros(8)], dataChunk(10))],
    ['zero byte rate', wav(fmtChunk(1, 0, 16), dataChunk(100))],
    ['not RIFF/WAVE', bytesOf(ascii('RIFF'), u32le(4), ascii('AVI '))],
    ['a header cut short', wav(fmtChunk(1, 8000, 16), dataChunk(100)).subarray(0, 30)],
  ])('returns undefined for %s', (_name, file) => {
    expect(probeDurationMs(file, 'wav')).toBeUndefined();
  });
});

// --- AMR -----------------------------------------------------------------------------------------

/** One AMR frame of the given type and total size (header byte included). */
const amrFrame = (frameType: number, size: number): number[] => [(frameType << 3) | 0x04, ...zeros(size - 1)];

describe('probeDurationMs: amr', () => {
  it.each([
    [
      '50 frames of 12.2 kbit/s AMR-NB',
      bytesOf(ascii('#!AMR\n'), ...Array.from({ length: 50 }, () => amrFrame(7, 32))),
      1000,
    ],
    [
      'mixed AMR-NB modes, SID and no-data frames',
      bytesOf(
        ascii('#!AMR\n'),
        amrFrame(0, 13),
        amrFrame(4, 20),
        amrFrame(8, 6),
        amrFrame(15, 1),
        amrFrame(6, 27),
      ),
      100,
    ],
    [
      'AMR-WB frames',
      bytesOf(ascii('#!AMR-WB\n'), amrFrame(8, 61), amrFrame(2, 33), amrFrame(9, 6), amrFrame(14, 1)),
      80,
    ],
    [
      'a cut-off last frame',
      bytesOf(ascii('#!AMR\n'), amrFrame(7, 32), amrFrame(7, 32)).subarray(0, 6 + 32 + 10),
      20,
    ],
    ['no frames', bytesOf(ascii('#!AMR\n')), 0],
  ])('%s', (_name, file, expected) => {
    expect(probeDurationMs(file, 'amr')).toBe(expected);
  });

  it.each([
    ['a reserved AMR-NB frame type', bytesOf(ascii('#!AMR\n'), amrFrame(7, 32), amrFrame(9, 6))],
    ['a reserved AMR-WB frame type', bytesOf(ascii('#!AMR-WB\n'), amrFrame(11, 6))],
    ['no magic', bytesOf(amrFrame(7, 32))],
    ['multichannel AMR', bytesOf(ascii('#!AMR_MC1.0\n'), zeros(8))],
  ])('returns undefined for %s', (_name, file) => {
    expect(probeDurationMs(file, 'amr')).toBeUndefined();
  });
});

// --- MP3 -----------------------------------------------------------------------------------------

/** MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames of 1152 samples. */
const MPEG1_HEADER = [0xff, 0xfb, 0x90, 0x00];
const MPEG1_FRAME_BYTES = 417;
/** MPEG-2 layer III, 64 kbit/s, 22.05 kHz: 208-byte frames of 576 samples. */
const MPEG2_HEADER = [0xff, 0xf3, 0x80, 0x00];
const MPEG2_FRAME_BYTES = 208;

const frame = (header: number[], size: number, at = 0, payload: number[] = []): number[] => {
  const bytes = [...header, ...zeros(size - header.length)];
  bytes.splice(at, payload.length, ...payload);
  return bytes;
};
const frames = (count: number, header = MPEG1_HEADER, size = MPEG1_FRAME_BYTES): number[][] =>
  Array.from({ length: count }, () => frame(header, size));
const xing = (tag: string, frameCount: number): number[] => [
  ...ascii(tag),
  ...u32be(0x1),
  ...u32be(frameCount),
];
const ID3V2 = [...ascii('ID3'), 3, 0, 0, 0, 0, 0x02, 0x01, ...zeros(257)];

describe('probeDurationMs: mp3', () => {
  it.each([
    ['CBR estimate from the first frame', bytesOf(...frames(100)), 2606],
    ['after an ID3v2 tag', bytesOf(ID3V2, ...frames(100)), 2606],
    ['before an ID3v1 tag', bytesOf(...frames(100), ascii('TAG'), zeros(125)), 2606],
    [
      'Xing frame count (VBR)',
      bytesOf(frame(MPEG1_HEADER, MPEG1_FRAME_BYTES, 36, xing('Xing', 1000)), ...frames(3)),
      26_122,
    ],
    [
      'Info frame count (LAME CBR)',
      bytesOf(frame(MPEG1_HEADER, MPEG1_FRAME_BYTES, 36, xing('Info', 100)), ...frames(3)),
      2612,
    ],
    [
      'VBRI frame count',
      bytesOf(
        frame(MPEG1_HEADER, MPEG1_FRAME_BYTES, 36, [
          ...ascii('VBRI'),
          ...u16be(1),
          ...zeros(8),
          ...u32be(500),
        ]),
        ...frames(2),
      ),
      13_061,
    ],
    [
      'MPEG-2 Xing after 17 bytes of side info',
      bytesOf(
        frame(MPEG2_HEADER, MPEG2_FRAME_BYTES, 21, xing('Xing', 500)),
        ...frames(2, MPEG2_HEADER, MPEG2_FRAME_BYTES),
      ),
      13_061,
    ],
    ['MPEG-2 CBR estimate', bytesOf(...frames(50, MPEG2_HEADER, MPEG2_FRAME_BYTES)), 1300],
    [
      'a false sync in junk before the audio',
      bytesOf([0x00, ...MPEG1_HEADER, 0x12, 0x34], ...frames(10)),
      261,
    ],
    ['a single frame', bytesOf(...frames(1)), 26],
  ])('%s', (_name, file, expected) => {
    expect(probeDurationMs(file, 'mp3')).toBe(expected);
  });

  it.each([
    ['no frame at all', bytesOf(ascii('not an mp3 file at all'), zeros(100))],
    ['free-format bitrate', bytesOf(...frames(3, [0xff, 0xfb, 0x00, 0x00]))],
    ['a reserved sample rate', bytesOf(...frames(3, [0xff, 0xfb, 0x9c, 0x00]))],
    ['a reserved MPEG version', bytesOf(...frames(3, [0xff, 0xeb, 0x90, 0x00]))],
    ['an ID3 tag claiming more than the file', bytesOf(ascii('ID3'), [3, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f])],
    ['a header cut short', bytesOf([0xff, 0xfb])],
  ])('returns undefined for %s', (_name, file) => {
    expect(probeDurationMs(file, 'mp3')).toBeUndefined();
  });
});

// --- any format ----------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32) so every fuzz run is reproducible from its seed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLES: readonly [string, Uint8Array][] = [
  ['mp4', bytesOf(FTYP, box('moov', mvhdV1(1000, 5000)), box('mdat', zeros(40)))],
  ['wav', wav(fmtChunk(1, 8000, 16), [...ascii('LIST'), ...u32le(3), 1, 2, 3, 0], dataChunk(300))],
  ['amr', bytesOf(ascii('#!AMR\n'), amrFrame(7, 32), amrFrame(0, 13), amrFrame(15, 1))],
  ['mp3', bytesOf(ID3V2, frame(MPEG1_HEADER, MPEG1_FRAME_BYTES, 36, xing('Xing', 5)), ...frames(2))],
];

/** Probes truncated and byte-flipped variants; returns the ones that threw or gave a bad number. */
function fuzzFailures(seed: number): string[] {
  const random = createRandom(seed);
  return SAMPLES.flatMap(([ext, sample]) => {
    const mutated = sample.slice(0, Math.floor(random() * (sample.length + 1)));
    for (let flips = Math.floor(random() * 4); flips > 0; flips--) {
      mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
    }
    try {
      const duration = probeDurationMs(mutated, ext);
      const isValid = duration === undefined || (Number.isFinite(duration) && duration >= 0);
      return isValid ? [] : [`seed ${seed} ${ext}: ${String(duration)}`];
    } catch (error) {
      return [`seed ${seed} ${ext}: threw ${String(error)}`];
    }
  });
}

describe('probeDurationMs: robustness', () => {
  it('returns undefined for unknown extensions', () => {
    expect(probeDurationMs(bytesOf(...frames(3)), 'ogg')).toBeUndefined();
    expect(probeDurationMs(bytesOf(), '')).toBeUndefined();
  });

  it('never throws on truncated or corrupted files', () => {
    const seeds = Array.from({ length: 600 }, (_, k) => k + 1);
    expect(seeds.flatMap(fuzzFailures)).toEqual([]);
  });

  it('reads a view into a larger buffer', () => {
    const file = bytesOf(FTYP, box('moov', mvhdV0(1000, 5000)));
    const padded = new Uint8Array(file.length + 20);
    padded.set(file, 7);
    expect(probeDurationMs(padded.subarray(7, 7 + file.length), 'mp4')).toBe(5000);
  });
});
