import { isDeepStrictEqual } from 'node:util';

import { describe, expect, it } from 'vitest';

import { extractMediaTags, MediaTagFilter } from './media-tags.js';

type Random = () => number;

/** Deterministic PRNG (mulberry32) so every property run is reproducible from its seed. */
function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const VALID_TAGS = [
  '[DING:IMAGE path="/data/a b.png"]',
  "[ding:file path='/data/报告 2024.pdf' name=报告.pdf]",
  '[DING:VIDEO path=/v.mp4]',
  '[DING:AUDIO path="%E4%B8%AD.mp3"]',
  '[DING:FILE path="/a/b[1].pdf" name="q]"]',
];
/** Everything that can go right or wrong around tags, fences, code spans and MEDIA lines. */
const FRAGMENTS = [
  ...VALID_TAGS,
  'hello',
  'world',
  '中文报告',
  '，',
  '表',
  '😀',
  ' ',
  '  ',
  '\t',
  '\u3000',
  '\n',
  '\n',
  '\n\n',
  '\r\n',
  '[DING:IMAGE]',
  '[DING:PHOTO path=/x]',
  '[DING:IMAGE path="x',
  '[DING:',
  '[DIN',
  '[',
  ']',
  '[link](https://x.y)',
  '`',
  '``',
  '`[DING:IMAGE path=/in-code]`',
  '\nMEDIA:/tmp/a.png\n',
  '\n  MEDIA: `https://e.com/b.png` \n',
  '\nMEDIA: not a path\n',
  'MEDIA:/tmp/inline.png',
  'MEDIA',
  '\n```\n',
  '\n~~~md\n',
  '\n````\n',
  '```',
  '\n   ```x``` y\n',
  '~~',
];

function randomDocument(random: Random): string {
  let document = '';
  const pieces = between(random, 0, 40);
  for (let k = 0; k < pieces; k++) document += pick(random, FRAGMENTS);
  if (random() < 0.05) document += `[DING:IMAGE path="/${'y'.repeat(between(random, 2030, 2060))}"] tail`;
  return document;
}

function randomSplit(random: Random, text: string): string[] {
  const chunks: string[] = [];
  const maxChunk = pick(random, [1, 3, 8, 40, 5000]);
  for (let start = 0; start < text.length;) {
    const length = between(random, 1, maxChunk);
    chunks.push(text.slice(start, start + length));
    start += length;
  }
  return chunks;
}

function streamed(chunks: readonly string[]): ReturnType<typeof extractMediaTags> {
  const filter = new MediaTagFilter();
  const text = chunks.map((chunk) => filter.push(chunk)).join('') + filter.end();
  return { text, attachments: filter.attachments, problems: filter.problems };
}

/** Where streaming `document` in random pieces differs from the one-shot result. */
function splitMismatches(seed: number): string[] {
  const random = createRandom(seed);
  const document = randomDocument(random);
  const expected = extractMediaTags(document);
  return Array.from({ length: 3 }, () => randomSplit(random, document))
    .filter((chunks) => !isDeepStrictEqual(streamed(chunks), expected))
    .map((chunks) => `seed ${seed}: ${JSON.stringify(chunks)} → ${JSON.stringify(streamed(chunks))}`);
}

/** Broken promises of the text contract on a document whose attachments are known in advance. */
function proseViolations(seed: number): string[] {
  const { document, withoutTags, expectedRaws, keptTagCount } = proseDocument(createRandom(seed));
  const result = extractMediaTags(document);
  const raws = result.attachments.map((attachment) => attachment.raw);
  const checks: [string, boolean][] = [
    ['attachments', isDeepStrictEqual(raws, expectedRaws)],
    ['no problems', result.problems.length === 0],
    ['words in order', isDeepStrictEqual(wordsOf(result.text), wordsOf(withoutTags))],
    ['code untouched', (result.text.match(/\[ding:/gi)?.length ?? 0) === keptTagCount],
    ['no new blank runs', !result.text.includes('\n\n\n') || document.includes('\n\n\n')],
  ];
  return checks
    .filter(([, holds]) => !holds)
    .map(([name]) => `seed ${seed} ${name}: ${JSON.stringify(document)} → ${JSON.stringify(result)}`);
}

describe('MediaTagFilter properties', () => {
  it('streams exactly what extractMediaTags returns, for any split', () => {
    const seeds = Array.from({ length: 800 }, (_, k) => k + 1);
    expect(seeds.flatMap(splitMismatches)).toEqual([]);
  });

  it('finds every tag in prose, none in code, and keeps every word in order', () => {
    const seeds = Array.from({ length: 400 }, (_, k) => k + 1);
    expect(seeds.flatMap(proseViolations)).toEqual([]);
  });

  it.each([
    ['brackets', '['.repeat(100_000)],
    ['tag openers', '[DING:'.repeat(17_000)],
    ['nested tag openers', '[DING:IMAGE path=[ding:'.repeat(5_000)],
    ['unclosed quotes', '[DING:IMAGE path="x '.repeat(5_000)],
    ['backtick runs', '` `` '.repeat(20_000)],
    ['one backtick then doubles', `\`${'`` '.repeat(35_000)}`],
    ['whitespace', `${' '.repeat(50_000)}x${'\n'.repeat(50_000)}`],
    ['tags', '[DING:IMAGE path=/a.png] '.repeat(4_000)],
  ])('filters 100 KB of %s quickly, in one piece and in small pieces', (_name, input) => {
    const startedMs = performance.now();
    const whole = extractMediaTags(input);
    const filter = new MediaTagFilter();
    let text = '';
    for (let start = 0; start < input.length; start += 997)
      text += filter.push(input.slice(start, start + 997));
    text += filter.end();
    expect(text).toBe(whole.text);
    expect(performance.now() - startedMs).toBeLessThan(1000);
  });

  it('keeps up with one char at a time on a held-back line', () => {
    const input = `  ${' '.repeat(20_000)}[DING:IMAGE path="${'a'.repeat(1500)}"] \`${'b'.repeat(1500)}`;
    const startedMs = performance.now();
    const filter = new MediaTagFilter();
    const text = Array.from(input, (char) => filter.push(char)).join('') + filter.end();
    expect(text).toBe(extractMediaTags(input).text);
    expect(performance.now() - startedMs).toBeLessThan(1000);
  });
});

const wordsOf = (text: string): string[] => text.split(/\s+/).filter((word) => word !== '');
/** Prose lines, blank lines and fenced blocks, with tags in prose (found) and in code (kept). */
function proseDocument(random: Random): {
  document: string;
  withoutTags: string;
  expectedRaws: string[];
  keptTagCount: number;
} {
  const lines: string[] = [];
  const linesWithoutTags: string[] = [];
  const expectedRaws: string[] = [];
  let keptTagCount = 0;
  const lineCount = between(random, 1, 12);
  for (let k = 0; k < lineCount; k++) {
    const roll = random();
    if (roll < 0.15) {
      const block = ['```', pick(random, VALID_TAGS), '```'];
      lines.push(...block);
      linesWithoutTags.push(...block);
      keptTagCount += 1;
      continue;
    }
    const words: string[] = [];
    const wordsWithoutTags: string[] = [];
    const wordCount = roll < 0.3 ? 0 : between(random, 0, 6);
    for (let w = 0; w < wordCount; w++) {
      const choice = random();
      const tag = pick(random, VALID_TAGS);
      if (choice < 0.25) {
        expectedRaws.push(tag);
        words.push(tag);
        continue;
      }
      const word = choice < 0.35 ? `\`${tag}\`` : pick(random, ['词', 'word', 'ok.']);
      if (choice < 0.35) keptTagCount += 1;
      words.push(word);
      wordsWithoutTags.push(word);
    }
    const separator = pick(random, [' ', '  ']);
    lines.push(words.join(separator));
    linesWithoutTags.push(wordsWithoutTags.join(separator));
  }
  return { document: lines.join('\n'), withoutTags: linesWithoutTags.join('\n'), expectedRaws, keptTagCount };
}
