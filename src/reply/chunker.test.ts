import { describe, expect, it } from 'vitest';

import { chunkReply, findFencedBlocks as reExportedFindFencedBlocks, type ReplyChunk } from './chunker.js';
import { findFencedBlocks } from './fences.js';

const texts = (chunks: readonly ReplyChunk[]): string[] => chunks.map((chunk) => chunk.text);

/** Deterministic PRNG (mulberry32) so every property run is reproducible from its seed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pickChar = (random: Random, chars: string): string => chars.charAt(Math.floor(random() * chars.length));
const repeat = (count: number, make: () => string, separator = ''): string =>
  Array.from({ length: count }, make).join(separator);

const CJK_CHARS =
  '的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本';
const CJK_PUNCTUATION = ['。', '，', '、', '！', '？', '；'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧', '🇨🇳', 'é', '❤️', '1️⃣', 'a', '中'];
const INFO_STRINGS = ['', 'ts', 'python title="demo.py"', 'json'];

function word(random: Random): string {
  return repeat(between(random, 1, 10), () => String.fromCharCode(97 + between(random, 0, 25)));
}

function sentence(random: Random): string {
  const words = repeat(between(random, 2, 18), () => word(random), ' ');
  const extras = [
    '',
    ` [a link with words](https://example.com/${word(random)})`,
    ' ![alt text](https://img.example/x.png)',
    ' `inline code`',
    ', clause',
  ];
  return `${words}${pick(random, extras)}${pick(random, ['.', '!', '?', ';', '.'])}`;
}

function cjkRun(random: Random): string {
  const punctuationRatio = pick(random, [0, 0.02, 0.1]);
  return repeat(between(random, 10, 900), () =>
    random() < punctuationRatio ? pick(random, CJK_PUNCTUATION) : pickChar(random, CJK_CHARS),
  );
}

function fence(random: Random): string {
  const char = pick(random, ['`', '~']);
  const other = char === '`' ? '~' : '`';
  const marker = char.repeat(between(random, 3, 5));
  const indent = ' '.repeat(between(random, 0, 3));
  const info = char === '`' ? pick(random, INFO_STRINGS) : pick(random, [...INFO_STRINGS, 'with `ticks`']);
  const lines = repeat(
    between(random, 0, 60),
    () =>
      pick(random, [
        `  const ${word(random)} = ${between(random, 0, 999)};`,
        '',
        '    ',
        `${other.repeat(3)}inner`,
        `    ${marker}`,
        `${char.repeat(2)} not a fence`,
        repeat(between(random, 100, 400), () => 'x'),
        `// ${sentence(random)}`,
      ]),
    '\n',
  );
  const closer = `${' '.repeat(between(random, 0, 3))}${marker}${char.repeat(between(random, 0, 1))}`;
  return `${indent}${marker}${info}\n${lines}\n${closer}`;
}

function block(random: Random): string {
  switch (between(random, 0, 8)) {
    case 0:
    case 1:
      return repeat(between(random, 1, 8), () => sentence(random), ' ');
    case 2:
      return cjkRun(random);
    case 3:
      return repeat(between(random, 1, 300), () => pick(random, EMOJI));
    case 4:
      return repeat(between(random, 60, 3000), () => pickChar(random, 'abcdefXYZ0123456789/-_'));
    case 5:
    case 6:
      return fence(random);
    case 7:
      return repeat(
        between(random, 1, 12),
        () => `${pick(random, ['- ', '  - ', '1. '])}${sentence(random)}`,
        '\n',
      );
    default:
      return `${pick(random, ['#', '##', '>'])} ${sentence(random)}`;
  }
}

function markdownDocument(random: Random): string {
  const separators = ['\n\n', '\n\n', '\n', '\n\n\n', '  \n\n', '\r\n\r\n'];
  return repeat(between(random, 1, 14), () => `${block(random)}${pick(random, separators)}`);
}

const SOUP_TOKENS = [
  ...['`', '``', '```', '~', '~~~', '```ts', '\n```', '\n~~~', '\n    ```', '\n   ~~~~'],
  ...['\n', '\n', '\n\n', '\r\n', ' ', ' ', '   ', '    ', '\t', '\u00a0', '\u3000'],
  ...['# ', '## ', '> ', '- ', '* ', '1. ', '[', '](', ')', '![', '_', '|', '\\'],
  ...['word', 'two words', '中文', '。', '，', '😀', '👨‍👩‍👧', 'e\u0301', '. ', '!', '”'],
];

/** Random markdown symbols, runs of fence characters and words too long for a chunk, in any order. */
function symbolSoup(random: Random): string {
  return repeat(between(random, 0, 50), () => {
    const roll = random();
    if (roll < 0.05) return repeat(between(random, 4, 60), () => word(random));
    if (roll < 0.1) return pick(random, ['`', '~']).repeat(between(random, 3, 60));
    if (roll < 0.14) return `\n${' '.repeat(between(random, 0, 24))}${pick(random, ['```', '~~~', '````'])}`;
    return pick(random, SOUP_TOKENS);
  });
}

/** Independent re-implementation of CommonMark fence pairing, applied to a chunk's own text. */
function hasDanglingFence(markdown: string): boolean {
  let open: { char: string; length: number } | undefined;
  for (const rawLine of markdown.split('\n')) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(rawLine.replace(/\r$/, ''));
    const run = match?.[1];
    const rest = match?.[2] ?? '';
    if (run === undefined) continue;
    if (open !== undefined) {
      // Only spaces and tabs may follow a closing run (CommonMark); a stray `\r` ends the line.
      if (run.startsWith(open.char) && run.length >= open.length && /^[ \t\r]*$/.test(rest)) open = undefined;
    } else if (!(run.startsWith('`') && rest.includes('`'))) {
      open = { char: run.charAt(0), length: run.length };
    }
  }
  return open !== undefined;
}

const nonWhitespace = (text: string): string => text.replace(/\s+/g, '');
const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/** `sent` shows exactly the visible characters of `original`, plus possibly a fence line before and after. */
function isOriginalPlusFences(original: string, sent: string): boolean {
  const lines = sent.split('\n');
  const fenceLine = (line: string): string[] => (/^ {0,3}(`{3,}|~{3,})/.test(line) ? ['', line] : ['']);
  const own = nonWhitespace(original);
  return fenceLine(lines[0] ?? '').some((before) =>
    fenceLine(lines.at(-1) ?? '').some(
      (after) => nonWhitespace(before) + own + nonWhitespace(after) === nonWhitespace(sent),
    ),
  );
}

/** Every contract of `chunkReply`, as a list of violations (empty when all hold). */
function violations(input: string, chunks: readonly ReplyChunk[], maxChars: number): string[] {
  const found: string[] = [];
  const report = (index: number, problem: string): void => {
    found.push(`chunk ${index}: ${problem}`);
  };
  if (nonWhitespace(input) === '' ? chunks.length !== 0 : chunks.length === 0) found.push('wrong emptiness');
  if (chunks.length > 0 && (chunks[0]!.start !== 0 || chunks.at(-1)!.end !== input.length)) {
    found.push('chunks do not span the input');
  }
  const joined = chunks.map((chunk) => input.slice(chunk.start, chunk.end)).join('');
  if (chunks.length > 0 && joined !== input) found.push('slices differ');
  chunks.forEach((chunk, index) => {
    if (chunk.text.length > maxChars) report(index, `length ${chunk.text.length} > ${maxChars}`);
    if (nonWhitespace(chunk.text) === '') report(index, 'empty text');
    if (chunk.start >= chunk.end) report(index, 'empty range');
    if (index > 0 && chunks[index - 1]!.end !== chunk.start) report(index, 'gap or overlap');
    if (isHigh(input.charCodeAt(chunk.end - 1)) && isLow(input.charCodeAt(chunk.end)))
      report(index, 'split pair');
    if (isLow(chunk.text.charCodeAt(0)) || isHigh(chunk.text.charCodeAt(chunk.text.length - 1))) {
      report(index, 'lone surrogate at an edge');
    }
    if (hasDanglingFence(chunk.text)) report(index, 'dangling fence');
    if (!isOriginalPlusFences(input.slice(chunk.start, chunk.end), chunk.text)) {
      report(index, 'visible text changed');
    }
  });
  return found;
}

function expectValid(input: string, maxChars: number): ReplyChunk[] {
  const chunks = chunkReply(input, maxChars);
  expect(violations(input, chunks, maxChars)).toEqual([]);
  return chunks;
}

describe('chunkReply', () => {
  it.each([
    ['empty', ''],
    ['spaces', '   '],
    ['blank lines', '\n \n\t\n'],
  ])('returns no chunk for %s input', (_name, input) => {
    expect(chunkReply(input, 100)).toEqual([]);
  });

  it('returns short text as one trimmed chunk covering the whole input', () => {
    expect(chunkReply('\n\n  Hello **world**.\n\n', 100)).toEqual([
      { text: '  Hello **world**.', start: 0, end: 22 },
    ]);
  });

  it.each([49, 50.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects maxChars %s', (maxChars) => {
    expect(() => chunkReply('text', maxChars)).toThrow(RangeError);
  });

  it.each([
    {
      name: 'paragraph over line',
      input: `${'a'.repeat(40)}\n${'b'.repeat(40)}\n\n${'c'.repeat(40)}\n${'d'.repeat(40)}`,
      maxChars: 130,
      expected: [`${'a'.repeat(40)}\n${'b'.repeat(40)}`, `${'c'.repeat(40)}\n${'d'.repeat(40)}`],
    },
    {
      name: 'line over sentence',
      input: 'One two. Three four five six.\nSeven eight. Nine ten eleven.',
      maxChars: 50,
      expected: ['One two. Three four five six.', 'Seven eight. Nine ten eleven.'],
    },
    {
      name: 'sentence over space',
      input: 'Alpha beta gamma delta. Epsilon zeta eta theta iota kappa lambda mu.',
      maxChars: 50,
      expected: ['Alpha beta gamma delta.', 'Epsilon zeta eta theta iota kappa lambda mu.'],
    },
    {
      name: 'space over hard cut',
      input: 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu',
      maxChars: 50,
      expected: ['alpha beta gamma delta epsilon zeta eta theta iota', 'kappa lambda mu'],
    },
    {
      name: 'a later line over an early paragraph',
      input: `Intro.\n\n${repeat(5, () => 'x'.repeat(29), '\n')}`,
      maxChars: 100,
      expected: [`Intro.\n\n${repeat(3, () => 'x'.repeat(29), '\n')}`, repeat(2, () => 'x'.repeat(29), '\n')],
    },
    {
      name: 'CJK sentence ends without spaces',
      input: `${'中'.repeat(30)}。${'文'.repeat(30)}！${'字'.repeat(10)}`,
      maxChars: 60,
      expected: [`${'中'.repeat(30)}。`, `${'文'.repeat(30)}！${'字'.repeat(10)}`],
    },
    {
      name: 'CJK comma when no sentence ends',
      input: `${'中'.repeat(30)}，${'文'.repeat(30)}`,
      maxChars: 50,
      expected: [`${'中'.repeat(30)}，`, '文'.repeat(30)],
    },
    {
      name: 'closing quote kept with its sentence',
      input: `他说：“${'好'.repeat(30)}。”${'文'.repeat(30)}`,
      maxChars: 60,
      expected: [`他说：“${'好'.repeat(30)}。”`, '文'.repeat(30)],
    },
    {
      name: 'hard cut in an unbroken run',
      input: 'x'.repeat(120),
      maxChars: 50,
      expected: ['x'.repeat(50), 'x'.repeat(50), 'x'.repeat(20)],
    },
  ])('prefers $name', ({ input, maxChars, expected }) => {
    expect(texts(expectValid(input, maxChars))).toEqual(expected);
  });

  it.each([
    ['surrogate pairs', '😀', 51],
    ['ZWJ sequences', '👨‍👩‍👧', 50],
    ['flags', '🇨🇳', 51],
    ['combining marks', 'e\u0301\u0302', 50],
  ])('never splits %s', (_name, unit, maxChars) => {
    const chunks = expectValid(unit.repeat(40), maxChars);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.text.length % unit.length === 0)).toBe(true);
  });

  it('keeps a code block whole when it fits a chunk', () => {
    const code = '```ts\nconst a = 1;\nconst b = 2;\n```';
    const input = `${'Some intro words here. '.repeat(2).trim()}\n\n${code}\n\nAfter.`;
    expect(texts(expectValid(input, 60))).toEqual([
      'Some intro words here. Some intro words here.',
      `${code}\n\nAfter.`,
    ]);
  });

  it('splits an oversized code block into balanced blocks that reopen with the info string', () => {
    const lines = Array.from({ length: 12 }, (_, index) => `line ${index}`);
    const input = `~~~~python title="x.py"\n${lines.join('\n')}\n~~~~`;
    const chunks = expectValid(input, 60);
    expect(texts(chunks)).toEqual([
      `~~~~python title="x.py"\n${lines.slice(0, 4).join('\n')}\n~~~~`,
      `~~~~python title="x.py"\n${lines.slice(4, 8).join('\n')}\n~~~~`,
      `~~~~python title="x.py"\n${lines.slice(8).join('\n')}\n~~~~`,
    ]);
  });

  it('keeps the indentation of an indented fence when reopening it', () => {
    const input = `  \`\`\`\n${repeat(8, () => '  code line', '\n')}\n  \`\`\``;
    const [first, second] = texts(expectValid(input, 60));
    expect(first).toMatch(/^ {2}```\n[\s\S]*\n {2}```$/);
    expect(second).toMatch(/^ {2}```\n {2}code line/);
  });

  it('closes every chunk of a block that is never closed', () => {
    const input = `\`\`\`js\n${repeat(20, () => 'call();', '\n')}`;
    const chunks = expectValid(input, 50);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((chunk) => chunk.text.startsWith('```js\n') && chunk.text.endsWith('\n```'))).toBe(
      true,
    );
  });

  it('hard-cuts a code line longer than a chunk inside balanced blocks', () => {
    expect(texts(expectValid(`\`\`\`\n${'y'.repeat(100)}\n\`\`\``, 50))).toEqual([
      `\`\`\`\n${'y'.repeat(42)}\n\`\`\``,
      `\`\`\`\n${'y'.repeat(42)}\n\`\`\``,
      `\`\`\`\n${'y'.repeat(16)}\n\`\`\``,
    ]);
  });

  it('cuts a long fence-like code line inside the block, not on the opening line', () => {
    const chunks = texts(expectValid(`\`\`\`\n~~~${'z'.repeat(80)}\n\`\`\``, 50));
    expect(chunks[0]).toBe(`\`\`\`\n~~~${'z'.repeat(39)}\n\`\`\``);
    expect(chunks.every((chunk) => chunk.startsWith('```\n') && chunk.endsWith('\n```'))).toBe(true);
  });

  it('keeps a line that only looks like a fence out of a mid-line break', () => {
    const input = `Intro line here.\n\`\`\`x\`\`\` is inline code, not a fence, and this line goes on`;
    expect(texts(expectValid(input, 60))).toEqual([
      'Intro line here.',
      '```x``` is inline code, not a fence, and this line goes on',
    ]);
  });

  it('sends a fence-like line longer than a chunk as a literal block, not an open fence', () => {
    const input = `Intro.\n\`\`\`${'abcd '.repeat(12)}\`y\` tail`;
    expect(texts(expectValid(input, 50))).toEqual([
      'Intro.',
      `~~~\n\`\`\`${'abcd '.repeat(8).trimEnd()}\n~~~`,
      `${'abcd '.repeat(4)}\`y\` tail`,
    ]);
  });

  it('hard-cuts an inline-code line longer than a chunk as text once its code span is in', () => {
    const input = `\`\`\`x\`\`\` and more text, ${'abcd '.repeat(12)}`;
    expect(texts(expectValid(input, 50))).toEqual([
      '```x``` and more text, abcd abcd abcd abcd abcd ab',
      'cd abcd abcd abcd abcd abcd abcd',
    ]);
  });

  it('wraps an unclosed fence too long to reopen in a fence of the other character', () => {
    expect(texts(expectValid('~'.repeat(12), 50))).toEqual([`\`\`\`\n${'~'.repeat(12)}\n\`\`\``]);
  });

  it.each([
    ['a fence run longer than a chunk', '`'.repeat(120)],
    ['a fence run split mid-line', `word ${'~'.repeat(70)} tail`],
    [
      'a block whose fences are too long to reopen',
      `${'`'.repeat(15)}\n${'code line\n'.repeat(6)}${'`'.repeat(15)}`,
    ],
    ['a code line that would close its block when cut', `\`\`\`\n${'`'.repeat(60)}x\n\`\`\``],
    [
      'a fence-like line exposed by dropped indentation',
      `${'a'.repeat(45)}\n${' '.repeat(20)}\`\`\`ts\ncode\nmore`,
    ],
  ])('leaves no fence open with %s', (_name, input) => {
    expect(violations(input, chunkReply(input, 50), 50)).toEqual([]);
  });

  it('splits before a link rather than inside its text', () => {
    const input = `${'word '.repeat(6)}[a link with many words](https://example.com/page) tail`;
    expect(texts(expectValid(input, 50))).toEqual([
      'word word word word word word',
      '[a link with many words](https://example.com/page)',
      'tail',
    ]);
  });

  it('splits before an inline code span rather than inside it', () => {
    const input = `${'word '.repeat(7)}\`npm run build --workspace gateway\` tail`;
    expect(texts(expectValid(input, 50))).toEqual([
      'word word word word word word word',
      '`npm run build --workspace gateway` tail',
    ]);
  });

  it.each([
    ['a heading marker', '# of items'],
    ['a list marker', '- minus'],
    ['a numbered list marker', '2. second'],
    ['a blockquote marker', '> quoted'],
  ])('does not start a chunk with %s from mid-line', (_name, tail) => {
    const input = `${'w '.repeat(23)}${tail} and words to overflow`;
    const chunks = expectValid(input, 50);
    expect(chunks.map((chunk) => chunk.text.slice(0, tail.length))).not.toContain(tail);
  });

  it('does not start a chunk with a mid-line fence run', () => {
    const input = `${'w '.repeat(24)}~~~ tilde run and more words to overflow`;
    const chunks = expectValid(input, 50);
    expect(chunks.some((chunk) => /^\s*~~~/.test(chunk.text))).toBe(false);
  });

  it.each([50, 51, 80, 200, 1800])('holds every contract on generated markdown (maxChars %i)', (maxChars) => {
    const random = createRandom(maxChars * 7919);
    const failures = Array.from({ length: 120 }, (_, run) => {
      const input = markdownDocument(random);
      return violations(input, chunkReply(input, maxChars), maxChars).map(
        (problem) => `run ${run}: ${problem}`,
      );
    }).flat();
    expect(failures).toEqual([]);
  });

  it.each([50, 64, 100, 333])('holds every contract on markdown symbol soup (maxChars %i)', (maxChars) => {
    const random = createRandom(maxChars * 104_729);
    const failures = Array.from({ length: 500 }, (_, run) => {
      const input = symbolSoup(random);
      return violations(input, chunkReply(input, maxChars), maxChars).map(
        (problem) => `run ${run} ${JSON.stringify(input)}: ${problem}`,
      );
    }).flat();
    expect(failures).toEqual([]);
  });

  it.each([
    ['mixed markdown', (): string => markdownDocument(createRandom(1)).repeat(200)],
    ['one unbroken line', (): string => 'x'.repeat(1_000_000)],
    ['whitespace runs', (): string => `${' '.repeat(500_000)}x${'\n'.repeat(500_000)}y`],
    ['bracket runs', (): string => '['.repeat(1_000_000)],
    ['one huge code block', (): string => `\`\`\`\n${'code();\n'.repeat(125_000)}\`\`\``],
    [
      'fences too long to reopen and lines that only look like fences',
      (): string => `${'`'.repeat(1000)}\n\`\`\`${'a'.repeat(3000)}\`\n${'~'.repeat(3000)}x\n`.repeat(150),
    ],
  ])('chunks 1 MB of %s quickly', (_name, make) => {
    const input = make().slice(0, 1_000_000);
    const startedMs = performance.now();
    const chunks = chunkReply(input, 1800);
    const elapsedMs = performance.now() - startedMs;
    expect(violations(input, chunks, 1800)).toEqual([]);
    expect(elapsedMs).toBeLessThan(1000);
  });
});

describe('findFencedBlocks', () => {
  it('stays importable from chunker.ts', () => {
    expect(reExportedFindFencedBlocks).toBe(findFencedBlocks);
  });
});
