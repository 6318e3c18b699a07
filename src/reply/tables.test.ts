import { describe, expect, it } from 'vitest';

import { convertTablesToCode } from './tables.js';

const lines = (...rows: string[]): string => rows.join('\n');

describe('convertTablesToCode', () => {
  it.each([
    {
      name: 'a simple table',
      input: lines('| a | bb |', '|---|---|', '| ccc | d |'),
      expected: lines('```', 'a   | bb', '----+---', 'ccc | d', '```'),
    },
    {
      name: 'a table without outer pipes',
      input: lines('key | value', '--- | ---', 'x | 1'),
      expected: lines('```', 'key | value', '----+------', 'x   | 1', '```'),
    },
    {
      name: 'alignment from the delimiter row',
      input: lines(
        '| left | center | right |',
        '|:-----|:------:|------:|',
        '| a | b | c |',
        '| dd | eeee | f |',
      ),
      expected: lines(
        '```',
        'left | center | right',
        '-----+--------+------',
        'a    |   b    |     c',
        'dd   |  eeee  |     f',
        '```',
      ),
    },
    {
      name: 'CJK, fullwidth and emoji display widths',
      input: lines('| 名字 | x |', '|---|---|', '| 张三丰 | ＡＢ |', '| 👍 | é |'),
      expected: lines('```', '名字   | x', '-------+-----', '张三丰 | ＡＢ', '👍     | é', '```'),
    },
    {
      name: 'escaped pipes as cell content',
      input: lines('| expr | note |', '|---|---|', '| a \\| b | `x \\| y` |'),
      expected: lines('```', 'expr  | note', '------+------', 'a | b | x | y', '```'),
    },
    {
      name: 'inline markdown reduced to plain text',
      input: lines(
        '| **Bold** | *it* |',
        '|---|---|',
        '| [link](https://x.y) | `code` ~~old~~ |',
        '| ![alt](i.png) | a<br>b |',
      ),
      expected: lines('```', 'Bold | it', '-----+---------', 'link | code old', 'alt  | a b', '```'),
    },
    {
      name: 'short rows padded and long rows kept',
      input: lines('| a | b |', '|---|---|', '| 1 |', '| 1 | 2 | 3 |'),
      expected: lines('```', 'a | b |', '--+---+--', '1 |   |', '1 | 2 | 3', '```'),
    },
    {
      name: 'a longer fence when cells hold backtick runs',
      input: lines('| code |', '|---|', '| ``` a ``` b ``` |'),
      expected: lines('````', 'code', '-------', 'a b ```', '````'),
    },
    {
      name: 'the indentation of an indented table',
      input: lines('  | a |', '  |---|', '  | b |'),
      expected: lines('  ```', '  a', '  -', '  b', '  ```'),
    },
  ])('converts $name', ({ input, expected }) => {
    expect(convertTablesToCode(input)).toBe(expected);
  });

  it('leaves the surrounding text byte for byte and converts two tables', () => {
    const input = '# Title\r\n\r\n|a|b|\r\n|-|-|\r\n|1|2|\r\ntext\r\n\r\n| c |\r\n| - |\r\n\r\nend  \r\n';
    expect(convertTablesToCode(input)).toBe(
      '# Title\r\n\r\n```\r\na | b\r\n--+--\r\n1 | 2\r\n```\r\ntext\r\n\r\n```\r\nc\r\n-\r\n```\r\n\r\nend  \r\n',
    );
  });

  it('ends a table at a blank line, a line without pipes, or a fence', () => {
    const table = lines('| a |', '| --- |', '| 1 |');
    expect(convertTablesToCode(lines(table, 'plain line', '| not | a table |'))).toBe(
      lines('```', 'a', '-', '1', '```', 'plain line', '| not | a table |'),
    );
    expect(convertTablesToCode(lines(table, '```', '| in | code |', '```'))).toBe(
      lines('```', 'a', '-', '1', '```', '```', '| in | code |', '```'),
    );
  });

  it.each([
    ['no table at all', 'Just text.\n\n- a list\n- with items\n'],
    ['pipes without a delimiter row', 'a | b\nc | d\n'],
    ['a delimiter row with another cell count', '| a | b |\n|---|\n| 1 | 2 |'],
    ['a setext heading underline', 'a | b\n---\n'],
    ['a table inside a backtick fence', '```md\n| a | b |\n|---|---|\n| 1 | 2 |\n```\n'],
    ['a table inside an unclosed tilde fence', 'x\n~~~~\n| a |\n|---|\n'],
    ['a table indented as code', '    | a |\n    |---|\n'],
    ['empty input', ''],
  ])('returns %s unchanged', (_name, input) => {
    expect(convertTablesToCode(input)).toBe(input);
  });

  it('handles a megabyte of mixed text and tables quickly', () => {
    const input = 'para | with pipe\n\n| a | b |\n|---|---|\n| 中 | 😀 |\n\n```\n| x |\n|---|\n```\n'.repeat(
      15_000,
    );
    const startedMs = performance.now();
    const output = convertTablesToCode(input);
    expect(performance.now() - startedMs).toBeLessThan(2000);
    expect(output.split('a  | b').length - 1).toBe(15_000);
  });

  it('converts a table at the very start and at the very end', () => {
    const table = lines('|x|', '|-|', '|y|');
    expect(convertTablesToCode(lines(table, '', 'middle', '', table))).toBe(
      lines('```', 'x', '-', 'y', '```', '', 'middle', '', '```', 'x', '-', 'y', '```'),
    );
  });
});
