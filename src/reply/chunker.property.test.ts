import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fuzzParams } from '../../test/helpers/fast-check.js';
import { chunkReply, MIN_REPLY_MAX_CHARS, type ReplyChunk } from './chunker.js';

/**
 * fast-check properties of chunkReply with shrinking (the seeded generators in chunker.test.ts cover
 * realistic documents; these mix markdown tokens freely and shrink a failure to a minimal input).
 */

const TOKENS = [
  'word',
  'two words',
  'a sentence.',
  'Ends here! ',
  '中文句子。',
  '，',
  '😀',
  '👨‍👩‍👧',
  'e\u0301',
  '\n',
  '\n\n',
  '\r\n',
  ' ',
  '    ',
  '\t',
  '\u00a0',
  '```',
  '```ts',
  '~~~',
  '````',
  '\n```\n',
  '\n~~~\n',
  '\n   ```\n',
  '`code`',
  '`',
  '# ',
  '## Heading',
  '- ',
  '1. ',
  '> ',
  '[link](https://example.com/a?b=c)',
  '![img](@lADOmedia)',
  '|a|b|',
  '\\',
  '*',
  '_',
];

/** Markdown-ish text: tokens, long runs without breaks, and arbitrary unicode. */
const markdownish: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .array(
        fc.oneof(
          { arbitrary: fc.constantFrom(...TOKENS), weight: 8 },
          { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 2 },
          {
            arbitrary: fc
              .tuple(fc.constantFrom('x', '中', '`', '~', ' ', '\n', '😀'), fc.integer({ min: 20, max: 400 }))
              .map(([unit, count]) => unit.repeat(count)),
            weight: 1,
          },
        ),
        { maxLength: 80 },
      )
      .map((tokens) => tokens.join('')),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 400 }), weight: 1 },
);

const maxCharsArbitrary = fc.oneof(
  fc.integer({ min: MIN_REPLY_MAX_CHARS, max: 80 }),
  fc.integer({ min: 81, max: 2_000 }),
);

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const visible = (text: string): string => text.replace(/\s+/g, '');

/** CommonMark fence pairing on one chunk's own text: true when a block is left open. */
function leavesFenceOpen(markdown: string): boolean {
  let open: { char: string; length: number } | undefined;
  for (const rawLine of markdown.split('\n')) {
    const match = FENCE_LINE.exec(rawLine.replace(/\r$/, ''));
    if (match === null) continue;
    const run = match[1]!;
    const rest = match[2]!;
    if (open === undefined) {
      // A backtick fence whose info string holds a backtick is not a fence.
      if (!(run.startsWith('`') && rest.includes('`'))) open = { char: run.charAt(0), length: run.length };
    } else if (run.startsWith(open.char) && run.length >= open.length && /^[ \t\r]*$/.test(rest)) {
      open = undefined;
    }
  }
  return open !== undefined;
}

/** The chunk text without a fence line the chunker added at its start or end, if any. */
function withoutAddedFences(chunk: ReplyChunk, original: string): string[] {
  const lines = chunk.text.split('\n');
  const candidates = [chunk.text];
  const first = lines[0] ?? '';
  const last = lines.at(-1) ?? '';
  const dropFirst = FENCE_LINE.test(first) ? lines.slice(1) : undefined;
  const dropLast = FENCE_LINE.test(last) ? lines.slice(0, -1) : undefined;
  if (dropFirst !== undefined) candidates.push(dropFirst.join('\n'));
  if (dropLast !== undefined) candidates.push(dropLast.join('\n'));
  if (dropFirst !== undefined && dropLast !== undefined && lines.length >= 2)
    candidates.push(lines.slice(1, -1).join('\n'));
  const own = visible(original);
  return candidates.filter((candidate) => visible(candidate) === own);
}

/** Every promised property, as a list of violations. */
function violations(input: string, maxChars: number): string[] {
  const chunks = chunkReply(input, maxChars);
  const found: string[] = [];
  if (visible(input) !== '' && chunks.length === 0) found.push('no chunk for visible text');
  let position = 0;
  for (const [index, chunk] of chunks.entries()) {
    if (chunk.text.length > maxChars) found.push(`chunk ${index}: ${chunk.text.length} > ${maxChars} chars`);
    if (chunk.start !== position)
      found.push(`chunk ${index}: starts at ${chunk.start}, expected ${position}`);
    if (chunk.end <= chunk.start) found.push(`chunk ${index}: empty range`);
    if (leavesFenceOpen(chunk.text)) found.push(`chunk ${index}: leaves a code fence open`);
    if (withoutAddedFences(chunk, input.slice(chunk.start, chunk.end)).length === 0)
      found.push(`chunk ${index}: visible text differs from its part of the input`);
    position = chunk.end;
  }
  if (chunks.length > 0 && position !== input.length)
    found.push(`chunks end at ${position} of ${input.length}`);
  return found;
}

describe('chunkReply (property)', () => {
  it('keeps every chunk within maxChars, balanced, in order, and loses no visible text', () => {
    fc.assert(
      fc.property(markdownish, maxCharsArbitrary, (input, maxChars) => {
        expect(violations(input, maxChars)).toEqual([]);
      }),
      fuzzParams(600),
    );
  });

  it('joins back to the whole visible input when the added fence lines are taken out', () => {
    fc.assert(
      fc.property(markdownish, maxCharsArbitrary, (input, maxChars) => {
        const chunks = chunkReply(input, maxChars);
        const rebuilt = chunks
          .map((chunk) => withoutAddedFences(chunk, input.slice(chunk.start, chunk.end))[0] ?? chunk.text)
          .join('\n');
        expect(visible(rebuilt)).toBe(visible(input));
      }),
      fuzzParams(300),
    );
  });
});
