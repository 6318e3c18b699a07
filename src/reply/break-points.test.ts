import { describe, expect, it } from 'vitest';

import {
  BREAK_LEVEL,
  type BreakLevel,
  findInlineSpans,
  firstEndingAfter,
  forEachBreak,
  trimmedEnd,
} from './break-points.js';

function breaksOf(text: string, lineStart = 0): [string, BreakLevel][] {
  const found: [string, BreakLevel][] = [];
  forEachBreak(text, { lineStart, from: lineStart, limit: text.length }, (end, level) => {
    found.push([text.slice(0, end), level]);
  });
  return found;
}

describe('forEachBreak', () => {
  it('ranks paragraph, line, sentence and soft breaks', () => {
    expect(breaksOf('One two. Three\nfour\n\nfive')).toEqual([
      ['One', BREAK_LEVEL.soft],
      ['One two.', BREAK_LEVEL.sentence],
      ['One two. Three', BREAK_LEVEL.line],
      ['One two. Three\nfour', BREAK_LEVEL.paragraph],
      ['One two. Three\nfour\n\nfive', BREAK_LEVEL.paragraph],
    ]);
  });

  it('breaks CJK text after sentence ends and commas, keeping closing quotes', () => {
    expect(breaksOf('中文，“好。”字')).toEqual([
      ['中文，', BREAK_LEVEL.soft],
      ['中文，“好。”', BREAK_LEVEL.sentence],
      ['中文，“好。”字', BREAK_LEVEL.paragraph],
    ]);
  });

  it('refuses a mid-line break before block syntax', () => {
    expect(breaksOf('a # b - c ~~~ d').map(([before]) => before)).toEqual([
      'a #',
      'a # b -',
      'a # b - c ~~~',
      'a # b - c ~~~ d',
    ]);
  });

  it('keeps only line breaks on a line that starts like a fence', () => {
    expect(breaksOf('```a``` b c\nd e').map(([before]) => before)).toEqual([
      '```a``` b c',
      '```a``` b c\nd',
      '```a``` b c\nd e',
    ]);
  });
});

describe('findInlineSpans', () => {
  it('finds links and code spans, merged where they overlap', () => {
    const text = 'see [a `b` c](https://x.y) and `code` here';
    expect(findInlineSpans(text).map((span) => text.slice(span.start, span.end))).toEqual([
      '[a `b` c](https://x.y)',
      '`code`',
    ]);
  });
});

describe('helpers', () => {
  it('trims back over whitespace of any kind', () => {
    expect(trimmedEnd('ab \u3000\n\t', 6)).toBe(2);
  });

  it('finds the first item ending after a position', () => {
    const spans = [
      { start: 0, end: 2 },
      { start: 4, end: 6 },
    ];
    expect([0, 2, 5, 6].map((position) => firstEndingAfter(spans, position, (span) => span.end))).toEqual([
      0, 1, 1, 2,
    ]);
  });
});
