import { describe, expect, it } from 'vitest';

import { decodePercentEncoding, parseMediaSource } from './media-source.js';
import { MAX_MEDIA_TAG_CHARS, scanMediaTag } from './media-tag-syntax.js';

describe('parseMediaSource', () => {
  it.each([
    ['/data/a.png', { type: 'path', path: '/data/a.png' }],
    ['  /data/报告 2024.pdf ', { type: 'path', path: '/data/报告 2024.pdf' }],
    ['/data/%E6%8A%A5%E5%91%8A.pdf', { type: 'path', path: '/data/报告.pdf' }],
    ['file:///data/%E4%B8%AD.png', { type: 'path', path: '/data/中.png' }],
    ['FILE://localhost/data/a.png', { type: 'path', path: '/data/a.png' }],
    ['file:/data/a.png', { type: 'path', path: '/data/a.png' }],
    ['relative/a.png', { type: 'path', path: 'relative/a.png' }],
    ['https://cdn.example.com/a%20b.png?x=1', { type: 'url', url: 'https://cdn.example.com/a%20b.png?x=1' }],
    ['HTTP://example.com/a.png', { type: 'url', url: 'HTTP://example.com/a.png' }],
  ])('%s', (value, source) => {
    expect(parseMediaSource(value)).toEqual(source);
  });

  it.each([
    '',
    '   ',
    'file://server/share/a.png',
    'file:relative.png',
    'ftp://host/a.png',
    's3://bucket/key',
  ])('refuses %j', (value) => {
    expect(parseMediaSource(value)).toBeUndefined();
  });
});

describe('decodePercentEncoding', () => {
  it.each([
    ['no escapes', 'plain.png', 'plain.png'],
    ['ASCII', 'a%20b%2Fc', 'a b/c'],
    ['lower-case hex', '%e4%b8%ad', '中'],
    ['a four-byte sequence', '%F0%9F%98%80', '😀'],
    ['not hex', '50%.png %zz', '50%.png %zz'],
    ['a truncated sequence', '%E4%B8.png', '%E4%B8.png'],
    ['a bad sequence next to a good one', '%FF%E4%B8%AD%C3', '%FF中%C3'],
    ['an overlong form', '%C0%AF', '%C0%AF'],
    ['an encoded surrogate', '%ED%A0%80', '%ED%A0%80'],
  ])('%s', (_name, input, expected) => {
    expect(decodePercentEncoding(input)).toBe(expected);
  });
});

describe('scanMediaTag', () => {
  it.each([
    ['[DING:IMAGE path=/a.png]', true, { status: 'tag', end: 24, kind: 'image', isMalformed: false }],
    ['[DING:IMAGE path=/a.png', false, { status: 'need-more' }],
    ['[DING:IMAGE path=/a.png', true, { status: 'unterminated' }],
    ['[DING:IMAGE path="a]', false, { status: 'need-more' }],
    ['[DING:IMAGE path="a] b', true, { status: 'unterminated' }],
    ['[DING:IMAGE  x y] z', false, { status: 'tag', end: 17, kind: 'image', isMalformed: true }],
    ['[DING:IMAGE path=/a] tail', false, { status: 'tag', end: 20 }],
  ] as const)('%j (line complete: %s)', (line, isComplete, expected) => {
    expect(scanMediaTag(line, 0, isComplete)).toMatchObject(expected);
  });

  it('answers the same however much of the line beyond its window it sees', () => {
    const line = `[DING:IMAGE path="${'a'.repeat(MAX_MEDIA_TAG_CHARS)}"]`;
    const window = line.slice(0, MAX_MEDIA_TAG_CHARS);
    expect(scanMediaTag(window, 0, false)).toEqual({ status: 'not-a-tag' });
    expect(scanMediaTag(line, 0, false)).toEqual({ status: 'not-a-tag' });
    expect(scanMediaTag(line, 0, true)).toEqual({ status: 'not-a-tag' });
  });
});
