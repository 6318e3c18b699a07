import { describe, expect, it } from 'vitest';

import {
  checkUploadable,
  DINGTALK_MEDIA_LIMITS,
  extensionForMime,
  fileExtension,
  isTextLike,
  kindForExtension,
  kindForMime,
  mimeForFileName,
  sniffImageMime,
} from './media-kinds.js';

const MIB = 1024 * 1024;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('kinds by extension and MIME type', () => {
  it.each([
    ['jpg', 'image'],
    ['.JPEG', 'image'],
    ['png', 'image'],
    ['gif', 'image'],
    ['bmp', 'image'],
    ['amr', 'voice'],
    ['MP3', 'voice'],
    ['wav', 'voice'],
    ['mp4', 'video'],
    ['docx', 'file'],
    ['.pdf', 'file'],
    ['rar', 'file'],
    ['webp', undefined],
    ['ogg', undefined],
    ['mov', undefined],
    ['', undefined],
  ])('%s → %s', (extension, kind) => {
    expect(kindForExtension(extension)).toBe(kind);
  });

  it.each([
    ['image/jpeg', 'jpg', 'image'],
    ['IMAGE/PNG; charset=binary', 'png', 'image'],
    ['audio/mpeg', 'mp3', 'voice'],
    ['audio/x-wav', 'wav', 'voice'],
    ['video/mp4', 'mp4', 'video'],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx', 'file'],
    ['application/x-rar-compressed', 'rar', 'file'],
    ['image/webp', undefined, undefined],
    ['text/html', undefined, undefined],
  ])('%s → .%s (%s)', (mime, extension, kind) => {
    expect(extensionForMime(mime)).toBe(extension);
    expect(kindForMime(mime)).toBe(kind);
  });

  it.each([
    ['/data/报告 2024.PDF', 'pdf'],
    ['archive.tar.gz', 'gz'],
    ['.bashrc', ''],
    ['noext', ''],
    ['dir.d/noext', ''],
  ])('fileExtension(%s) is %j', (name, extension) => {
    expect(fileExtension(name)).toBe(extension);
  });
});

describe('checkUploadable', () => {
  it.each([
    ['image', 'chart.PNG', 'image', 'png'],
    ['auto', 'photo.jpeg', 'image', 'jpeg'],
    ['audio', 'note.amr', 'voice', 'amr'],
    ['video', 'clip.mp4', 'video', 'mp4'],
    ['file', '季度报告.xlsx', 'file', 'xlsx'],
    ['file', 'diagram.png', 'image', 'png'],
    ['image', 'report.pdf', 'file', 'pdf'],
  ] as const)('%s hint, %s → %s upload', (hint, name, uploadType, fileType) => {
    expect(checkUploadable(hint, name, 1000)).toEqual({ ok: true, uploadType, fileType });
  });

  it.each([
    ['image', 'photo.webp'],
    ['file', 'notes.txt'],
    ['auto', 'README'],
    ['video', 'clip.mov'],
  ] as const)('refuses %s %s as unsupported-type', (hint, name) => {
    expect(checkUploadable(hint, name, 10)).toMatchObject({ ok: false, reason: 'unsupported-type' });
  });

  it.each([
    ['a.png', 20 * MIB],
    ['a.mp3', 2 * MIB],
    ['a.mp4', 20 * MIB],
    ['a.zip', 20 * MIB],
  ])('takes %s at exactly %i bytes and refuses one byte more', (name, maxBytes) => {
    expect(checkUploadable('auto', name, maxBytes).ok).toBe(true);
    expect(checkUploadable('auto', name, maxBytes + 1)).toEqual({
      ok: false,
      reason: 'too-large',
      detail: expect.stringContaining(String(maxBytes)) as unknown,
    });
  });

  it('documents the limits it enforces', () => {
    expect(DINGTALK_MEDIA_LIMITS.voice).toEqual({ maxBytes: 2 * MIB, extensions: ['amr', 'mp3', 'wav'] });
  });
});

describe('sniffImageMime', () => {
  const bmpHeader = (): Uint8Array => {
    const bytes = new Uint8Array(54);
    bytes.set(utf8('BM'));
    new DataView(bytes.buffer).setUint32(14, 40, true);
    return bytes;
  };

  it.each([
    ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0], 'image/png'],
    ['jpeg', [0xff, 0xd8, 0xff, 0xe0, 0, 0x10], 'image/jpeg'],
    ['gif87a', [...utf8('GIF87a'), 1, 0], 'image/gif'],
    ['gif89a', [...utf8('GIF89a')], 'image/gif'],
    ['webp', [...utf8('RIFF'), 0, 0, 0, 0, ...utf8('WEBPVP8 ')], 'image/webp'],
    ['wav is no webp', [...utf8('RIFF'), 0, 0, 0, 0, ...utf8('WAVEfmt ')], undefined],
    ['bmp', [...bmpHeader()], 'image/bmp'],
    ['text starting with BM', [...utf8('BMW drivers are the best drivers')], undefined],
    ['truncated png', [0x89, 0x50, 0x4e], undefined],
    ['empty', [], undefined],
    ['pdf', [...utf8('%PDF-1.7')], undefined],
  ])('%s', (_name, bytes, mime) => {
    expect(sniffImageMime(Uint8Array.from(bytes))).toBe(mime);
  });

  it('reads a view that does not start at its buffer start', () => {
    const buffer = new Uint8Array(100);
    buffer.set(bmpHeader(), 30);
    expect(sniffImageMime(buffer.subarray(30))).toBe('image/bmp');
  });
});

describe('isTextLike', () => {
  it.each([
    ['notes.txt', utf8('plain text\n'), true],
    ['README.MD', utf8('# 标题\n中文内容'), true],
    ['data.csv', utf8('\uFEFFa,b\n1,2'), true],
    ['main.rs', utf8('fn main() {}'), true],
    ['empty.json', new Uint8Array(), true],
    ['cut.txt', utf8('中文').subarray(0, 4), true],
    ['bad.txt', Uint8Array.from([0x61, 0xff, 0x62]), false],
    ['nul.log', Uint8Array.from([0x61, 0x00, 0x62]), false],
    ['latin1.txt', Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20]), false],
    ['picture.png', utf8('not really'), false],
    ['Makefile', utf8('all:\n'), false],
  ])('%s → %s', (name, bytes, expected) => {
    expect(isTextLike(name, bytes)).toBe(expected);
  });
});

describe('mimeForFileName', () => {
  it.each([
    ['report.PDF', 'application/pdf'],
    ['photo.jpeg', 'image/jpeg'],
    ['photo.jpg', 'image/jpeg'],
    ['scores.csv', 'text/csv'],
    ['notes.md', 'text/markdown'],
    ['data.json', 'application/json'],
    ['main.py', 'text/plain'],
    ['archive.7z', 'application/octet-stream'],
    ['no-extension', 'application/octet-stream'],
  ])('%s is %s', (name, mime) => {
    expect(mimeForFileName(name)).toBe(mime);
  });
});
