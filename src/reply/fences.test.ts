import { describe, expect, it } from 'vitest';

import { fenceLikeCharAt, findFencedBlocks, leavesFenceOpen } from './fences.js';

describe('findFencedBlocks', () => {
  it('pairs fences by character and length and ignores non-fences', () => {
    const input = '````md\n```\ninner\n```\n````\n    ```\n~~~\nopen';
    expect(findFencedBlocks(input).map((block) => input.slice(block.openStart, block.end))).toEqual([
      '````md\n```\ninner\n```\n````',
      '~~~\nopen',
    ]);
  });

  it('rejects backtick info strings containing backticks', () => {
    expect(findFencedBlocks('``` a ` b\ntext\n```')).toMatchObject([{ openStart: 15, isClosed: false }]);
  });

  it('ends a block at its closing run, before trailing whitespace', () => {
    expect(findFencedBlocks('~~~ js \r\nx\r\n~~~  \r\n')).toEqual([
      {
        openStart: 0,
        bodyStart: 9,
        closeStart: 12,
        end: 15,
        isClosed: true,
        openLine: '~~~ js',
        indent: '',
        marker: '~~~',
      },
    ]);
  });

  it('does not close a block with a line that has text after the run', () => {
    expect(findFencedBlocks('```\ncode\n``` not a closer\n```')).toMatchObject([{ closeStart: 26 }]);
  });
});

describe('leavesFenceOpen', () => {
  it.each([
    ['plain text', 'no fences here', false],
    ['a closed block', '```ts\ncode\n```\nafter', false],
    ['an unclosed block', 'before\n~~~\ncode', true],
    ['a shorter closer', '````\ncode\n```', true],
    ['a fence-like line with a backtick in its info', '```x``` and more', false],
    ['that line cut before its backtick', '```x', true],
    ['a fence indented four spaces', '    ```\ncode', false],
  ])('%s: %s', (_name, markdown, expected) => {
    expect(leavesFenceOpen(markdown)).toBe(expected);
  });
});

describe('fenceLikeCharAt', () => {
  it.each([
    ['```x``` b', 0, '`'],
    ['   ~~~', 0, '~'],
    ['a\n  ```', 2, '`'],
    ['    ```', 0, undefined],
    ['``x', 0, undefined],
    ['text ```', 0, undefined],
  ])('%j at %i is %s', (text, lineStart, expected) => {
    expect(fenceLikeCharAt(text, lineStart)).toBe(expected);
  });
});
