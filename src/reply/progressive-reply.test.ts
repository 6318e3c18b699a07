import { describe, expect, it } from 'vitest';

import type { TextualMessage } from '../dingtalk/outgoing-message.js';
import { formatReply, type ReplyFormat } from './format-reply.js';
import { ProgressiveReply } from './progressive-reply.js';

const FORMAT: ReplyFormat = { replyMode: 'markdown', maxChars: 120, tableMode: 'code' };

/** Streams `text` in pieces of `step` characters and returns every message in order. */
function stream(text: string, step: number, format = FORMAT, prefix?: string, trailer: string[] = []) {
  const reply = new ProgressiveReply(format, prefix);
  const early: TextualMessage[] = [];
  for (let at = 0; at < text.length; at += step) early.push(...reply.push(text.slice(at, at + step)));
  return { early, all: [...early, ...reply.end(trailer)] };
}

function words(messages: readonly TextualMessage[]): string {
  return messages
    .map((message) => message.text)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const paragraphs = Array.from(
  { length: 8 },
  (_, index) => `Paragraph ${index} ${'word '.repeat(12).trim()}.`,
);

describe('ProgressiveReply', () => {
  it('holds a short reply until the end and then formats it like a whole reply', () => {
    const { early, all } = stream('Short answer.\n\nSecond line.', 5);
    expect(early).toEqual([]);
    expect(all).toEqual(formatReply('Short answer.\n\nSecond line.', FORMAT));
  });

  it('sends complete messages while a long reply is still streaming, losing no word', () => {
    const text = paragraphs.join('\n\n');
    const { early, all } = stream(text, 7);
    expect(early.length).toBeGreaterThan(0);
    expect(words(all)).toBe(text.replace(/\s+/g, ' '));
    for (const message of all) expect(message.text.length).toBeLessThanOrEqual(FORMAT.maxChars);
  });

  it('gives the same messages whatever the stream pieces are', () => {
    const text = paragraphs.join('\n\n');
    const reference = stream(text, text.length).all;
    for (const step of [1, 3, 17, 64])
      expect(stream(text, step).all.map((m) => m.text)).toEqual(reference.map((m) => m.text));
  });

  it('never cuts inside a code block', () => {
    const code = [
      '```ts',
      ...Array.from({ length: 6 }, (_, index) => `const a${index} = ${index};`),
      '',
      'more();',
      '```',
    ].join('\n');
    const text = `${paragraphs[0]!}\n\n${code}\n\n${paragraphs[1]!}`;
    const { all } = stream(text, 4, { ...FORMAT, maxChars: 80 });
    for (const message of all) {
      const fences = message.text.split('\n').filter((line) => line.startsWith('```')).length;
      expect(fences % 2).toBe(0);
    }
    // The chunker closes and reopens a block too long for one message; apart from those fence lines, nothing changes.
    const withoutFences = (value: string): string =>
      value
        .replace(/^```.*$/gm, '')
        .replace(/\s+/g, ' ')
        .trim();
    expect(withoutFences(all.map((message) => message.text).join('\n'))).toBe(withoutFences(text));
  });

  it('cuts as soon as the break after a long code block arrives, streamed one character at a time', () => {
    const code = ['```', ...Array.from({ length: 12 }, (_, index) => `line${index} = ${index};`), '```'].join(
      '\n',
    );
    const reply = new ProgressiveReply(FORMAT, undefined);
    const text = `${code}\n\nAfter the code.`; // ASCII only: one UTF-16 unit per character
    const pushes = Array.from({ length: text.length }, (_, index) => reply.push(text.charAt(index)));
    const firstEmitted = pushes.findIndex((messages) => messages.length > 0);
    // Nothing can be cut inside the block; the block goes out once the blank line after it is complete.
    expect(firstEmitted).toBe(code.length + 1);
    expect(pushes[firstEmitted]!.map((message) => message.text).join('\n')).toContain('line11 = 11;');
    expect(reply.end([]).map((message) => message.text)).toEqual(['After the code.']);
  });

  it('cuts at an earlier break once the text grows past one message, even without a newline in the delta', () => {
    const reply = new ProgressiveReply(FORMAT, undefined);
    expect(reply.push(`${'a'.repeat(50)}\n\n${'b'.repeat(60)}`)).toEqual([]);
    expect(reply.push('b'.repeat(20)).map((message) => message.text)).toEqual(['a'.repeat(50)]);
  });

  it('puts the response prefix on the first message only, and the trailer after the rest', () => {
    const text = paragraphs.slice(0, 4).join('\n\n');
    const { all } = stream(text, 10, FORMAT, '[bot]', ['⚠️ notice']);
    expect(all[0]!.text.startsWith('[bot] Paragraph 0')).toBe(true);
    expect(all.slice(1).some((message) => message.text.includes('[bot]'))).toBe(false);
    expect(all.at(-1)!.text.endsWith('⚠️ notice')).toBe(true);
  });

  it('sends nothing for an empty reply without trailer', () => {
    expect(stream('', 1).all).toEqual([]);
  });
});
