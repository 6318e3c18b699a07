import { describe, expect, it } from 'vitest';

import { applyResponsePrefix, FALLBACK_TITLE, formatReply, type ReplyFormat } from './format-reply.js';
import { MAX_TITLE_CHARS } from './markdown-title.js';

const MARKDOWN: ReplyFormat = { replyMode: 'markdown', maxChars: 1800, tableMode: 'code' };
const TEXT: ReplyFormat = { replyMode: 'text', maxChars: 1800, tableMode: 'code' };

const TABLE = '| Name | Qty |\n|:-----|----:|\n| apple | 3 |\n| kiwi | 12 |';

/** A reply of `paragraphs` paragraphs, each about 90 chars, numbered so order can be checked. */
function longReply(paragraphs: number): string {
  return Array.from(
    { length: paragraphs },
    (_, index) => `Paragraph ${index + 1}: ${'lorem ipsum '.repeat(7).trim()}.`,
  ).join('\n\n');
}

describe('formatReply', () => {
  it('sends a short markdown reply as one message titled by its first line', () => {
    expect(formatReply('## Result\n\nAll **good**.', MARKDOWN)).toEqual([
      { kind: 'markdown', title: 'Result', text: '## Result\n\nAll **good**.' },
    ]);
  });

  it('sends a short text reply as one text message', () => {
    expect(formatReply('plain answer', TEXT)).toEqual([{ kind: 'text', text: 'plain answer' }]);
  });

  it.each([
    ['empty', ''],
    ['blank', ' \n\n\t '],
  ])('sends nothing for an %s reply', (_name, text) => {
    expect(formatReply(text, MARKDOWN)).toEqual([]);
    expect(formatReply(text, TEXT)).toEqual([]);
  });

  it('turns tables into code blocks in markdown mode with tableMode code', () => {
    const [message] = formatReply(`Stock:\n\n${TABLE}\n\nDone.`, MARKDOWN);
    expect(message?.kind).toBe('markdown');
    expect(message?.text).toBe(
      [
        'Stock:',
        '',
        '```',
        'Name  | Qty',
        '------+----',
        'apple |   3',
        'kiwi  |  12',
        '```',
        '',
        'Done.',
      ].join('\n'),
    );
    expect(message).toMatchObject({ title: 'Stock:' });
  });

  it('keeps tables as they are with tableMode off', () => {
    expect(formatReply(TABLE, { ...MARKDOWN, tableMode: 'off' })).toEqual([
      { kind: 'markdown', title: expect.any(String) as string, text: TABLE },
    ]);
  });

  it('never rewrites tables in text mode', () => {
    expect(formatReply(TABLE, TEXT)).toEqual([{ kind: 'text', text: TABLE }]);
  });

  it.each([
    ['markdown', MARKDOWN],
    ['text', TEXT],
  ])('splits a long %s reply into ordered messages within maxChars', (_name, format) => {
    const reply = longReply(40);
    const messages = formatReply(reply, { ...format, maxChars: 500 });
    expect(messages.length).toBeGreaterThan(5);
    for (const message of messages) {
      expect(message.kind).toBe(format.replyMode);
      expect(message.text.length).toBeLessThanOrEqual(500);
      expect(message.text.trim()).toBe(message.text);
    }
    const joined = messages.map((message) => message.text).join('\n\n');
    expect(joined).toBe(reply);
  });

  it('titles every markdown chunk by its own first line', () => {
    const messages = formatReply(longReply(20), { ...MARKDOWN, maxChars: 300 });
    expect(messages.length).toBeGreaterThan(2);
    for (const message of messages) {
      const firstLine = message.text.split('\n')[0] ?? '';
      const { title } = message as { title: string };
      expect(title).toMatch(/^Paragraph \d+: lorem ipsum/);
      expect(firstLine.startsWith(title.replace(/…$/, ''))).toBe(true);
      expect(title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    }
  });

  it('cuts long titles', () => {
    const [message] = formatReply(`# ${'very long heading '.repeat(10)}\n\nbody`, MARKDOWN);
    expect(message).toMatchObject({ kind: 'markdown' });
    const { title } = message as { title: string };
    expect(title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(title.endsWith('…')).toBe(true);
  });

  it.each([
    ['a thematic break', '---'],
    ['an empty code block', '```\n```'],
  ])('falls back to the default title for %s', (_name, text) => {
    expect(formatReply(text, MARKDOWN)).toEqual([{ kind: 'markdown', title: FALLBACK_TITLE, text }]);
  });

  it('uses the first line with text as title, skipping fences', () => {
    const [message] = formatReply('```ts\nconst a = 1;\n```', MARKDOWN);
    expect(message).toMatchObject({ title: 'const a = 1;' });
  });

  it('rejects a maxChars below the chunker minimum', () => {
    expect(() => formatReply('x', { ...MARKDOWN, maxChars: 10 })).toThrow(RangeError);
  });
});

describe('applyResponsePrefix', () => {
  it.each<[string, string | undefined, string]>([
    ['hi', undefined, 'hi'],
    ['hi', '', 'hi'],
    ['hi', '[bot]', '[bot] hi'],
    ['hi', '🤖', '🤖 hi'],
    ['hi', '[bot] ', '[bot] hi'],
    ['hi', '**Assistant:**\n', '**Assistant:**\nhi'],
    ['hi', '>\t', '>\thi'],
    ['line one\nline two', 'AI:', 'AI: line one\nline two'],
  ])('%j with prefix %j → %j', (text, prefix, expected) => {
    expect(applyResponsePrefix(text, prefix)).toBe(expected);
  });
});
