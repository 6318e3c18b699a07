import { describe, expect, it } from 'vitest';

import { displayWidth, graphemeBoundaryAtOrBefore, surrogateSafeIndex } from './text-width.js';

describe('displayWidth', () => {
  it.each([
    ['empty', '', 0],
    ['ASCII', 'abc 123', 7],
    ['CJK ideographs', '中文', 4],
    ['CJK punctuation', '，。', 4],
    ['Hangul', '한국어', 6],
    ['Kana', 'カタカナ', 8],
    ['fullwidth forms', 'ＡＢ', 4],
    ['combining marks', 'e\u0301a\u0308', 2],
    ['emoji', '😀👍', 4],
    ['emoji with skin tone', '👍🏽', 2],
    ['ZWJ family', '👨‍👩‍👧', 2],
    ['flag', '🇨🇳', 2],
    ['keycap', '1️⃣', 2],
    ['pictograph with emoji selector', '❤️', 2],
    ['pictograph with text selector', '❤︎', 1],
    ['zero-width space and controls', 'a\u200bb\u0007', 2],
    ['accented Latin', 'café', 4],
    ['mixed', 'a中😀é', 6],
  ])('measures %s', (_name, text, expected) => {
    expect(displayWidth(text)).toBe(expected);
  });
});

describe('graphemeBoundaryAtOrBefore', () => {
  const family = '👨‍👩‍👧';

  it.each([
    ['a boundary as is', 'abc', 2, 2],
    ['negative indexes to 0', 'abc', -3, 0],
    ['indexes past the end to the end', 'abc', 9, 3],
    ['inside a surrogate pair to its start', 'a😀b', 2, 1],
    ['inside a ZWJ sequence to its start', `a${family}b`, 5, 1],
    ['before a combining mark to the base letter', 'ae\u0301', 2, 1],
    ['inside a flag to its start', 'x🇨🇳', 3, 1],
    ['inside CRLF to its start', 'a\r\nb', 2, 1],
  ])('moves %s', (_name, text, index, expected) => {
    expect(graphemeBoundaryAtOrBefore(text, index)).toBe(expected);
  });

  it('falls back to a surrogate-safe cut inside an overlong cluster', () => {
    const zalgo = `a${'\u0301'.repeat(200)}😀`;
    expect(graphemeBoundaryAtOrBefore(zalgo, 150)).toBe(150);
    expect(graphemeBoundaryAtOrBefore(`${'\u0301'.repeat(100)}😀`, 101)).toBe(100);
  });
});

describe('surrogateSafeIndex', () => {
  it.each([
    ['a plain index', 'abc', 1, 1],
    ['the middle of a pair', '😀', 1, 0],
    ['the start', '😀', 0, 0],
    ['the end', '😀', 2, 2],
  ])('keeps or moves %s', (_name, text, index, expected) => {
    expect(surrogateSafeIndex(text, index)).toBe(expected);
  });
});
