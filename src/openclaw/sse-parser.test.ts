import { describe, expect, it } from 'vitest';

import { MAX_SSE_LINE_CHARS, SseLineTooLongError, SseParser, type SseEvent } from './sse-parser.js';

const encoder = new TextEncoder();

/** Feeds the whole input at once, then ends the stream. */
function parseAll(input: string | Uint8Array): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(input), ...parser.end()];
}

/** Feeds the input as UTF-8 bytes, one byte per chunk. */
function parseBytewise(input: string): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const byte of encoder.encode(input)) events.push(...parser.push(Uint8Array.of(byte)));
  events.push(...parser.end());
  return events;
}

/** Splits the bytes at every possible position into two chunks and checks each split gives `expected`. */
function expectSplitInvariant(input: string, expected: SseEvent[]): void {
  const bytes = encoder.encode(input);
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    const parser = new SseParser();
    const events = [
      ...parser.push(bytes.subarray(0, cut)),
      ...parser.push(bytes.subarray(cut)),
      ...parser.end(),
    ];
    expect(events, `cut at byte ${cut}`).toEqual(expected);
  }
}

function message(data: string, extra: Partial<SseEvent> = {}): SseEvent {
  return { type: 'message', data, lastEventId: '', ...extra };
}

describe('SseParser', () => {
  it('parses OpenAI-style data events and [DONE]', () => {
    const input = 'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n';
    expect(parseAll(input)).toEqual([message('{"a":1}'), message('{"a":2}'), message('[DONE]')]);
  });

  it('returns events as soon as their blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\n')).toEqual([]);
    expect(parser.push('\ndata: tw')).toEqual([message('one')]);
    expect(parser.push('o\n\n')).toEqual([message('two')]);
    expect(parser.end()).toEqual([]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('accepts %s line endings', (_name, eol) => {
    const input = `event: delta${eol}data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`;
    const expected = [message('a\nb', { type: 'delta' }), message('c')];
    expect(parseAll(input)).toEqual(expected);
    expect(parseBytewise(input)).toEqual(expected);
  });

  it('accepts mixed line endings in one stream', () => {
    expect(parseAll('data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r')).toEqual([
      message('a\nb\nc'),
      message('d'),
    ]);
  });

  it('treats a CRLF split between chunks as one line ending', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\r')).toEqual([message('x')]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('data: y\n\n')).toEqual([message('y')]);
  });

  it('keeps the CRLF state across empty chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r')).toEqual([]);
    expect(parser.push('')).toEqual([]);
    expect(parser.push(new Uint8Array(0))).toEqual([]);
    expect(parser.push('\n\n')).toEqual([message('x')]);
  });

  it('strips exactly one leading space of a value', () => {
    expect(parseAll('data:no-space\n\ndata:  two spaces\n\ndata:\n\n')).toEqual([
      message('no-space'),
      message(' two spaces'),
      message(''),
    ]);
  });

  it('treats a line without colon as a field with an empty value', () => {
    expect(parseAll('data\ndata\n\n')).toEqual([message('\n')]);
  });

  it('keeps colons inside the value', () => {
    expect(parseAll('data: {"url":"http://x"}\n\n')).toEqual([message('{"url":"http://x"}')]);
  });

  it('ignores comments, unknown fields and events without data', () => {
    const input = ': keep-alive\n\nfoo: bar\nevent: ping\n\n:another comment\ndata: real\n\n';
    expect(parseAll(input)).toEqual([message('real')]);
  });

  it('resets the event type after each dispatch but keeps the last event id', () => {
    const input = 'event: error\nid: 7\ndata: boom\n\ndata: next\n\nid\ndata: cleared\n\n';
    expect(parseAll(input)).toEqual([
      message('boom', { type: 'error', lastEventId: '7' }),
      message('next', { lastEventId: '7' }),
      message('cleared', { lastEventId: '' }),
    ]);
  });

  it('ignores an id containing NUL', () => {
    expect(parseAll('id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n')).toEqual([
      message('a', { lastEventId: '1' }),
      message('b', { lastEventId: '1' }),
    ]);
  });

  it('records retry only when it is all digits', () => {
    const parser = new SseParser();
    parser.push('retry: 1500\n\n');
    expect(parser.retryMs).toBe(1500);
    parser.push('retry: 2s\n\nretry: -1\n\n');
    expect(parser.retryMs).toBe(1500);
  });

  it('decodes multi-byte UTF-8 split anywhere, even one byte at a time', () => {
    const input = 'data: {"content":"你好，世界 👋 é"}\n\ndata: [DONE]\n\n';
    const expected = [message('{"content":"你好，世界 👋 é"}'), message('[DONE]')];
    expect(parseBytewise(input)).toEqual(expected);
    expectSplitInvariant(input, expected);
  });

  it('gives the same result for every two-chunk split of a CRLF stream', () => {
    const input = 'event: a\r\ndata: 1\r\n\r\n: c\r\ndata: 2\r\rdata: 3\n\n';
    expectSplitInvariant(input, [message('1', { type: 'a' }), message('2'), message('3')]);
  });

  it('drops a leading byte order mark once', () => {
    expect(parseAll(Uint8Array.of(0xef, 0xbb, 0xbf, ...encoder.encode('data: a\n\n')))).toEqual([
      message('a'),
    ]);
    expect(parseAll('\uFEFFdata: a\n\n')).toEqual([message('a')]);
    expect(parseAll('data: \uFEFFa\n\n')).toEqual([message('\uFEFFa')]);
  });

  it('flushes a final event without its blank line at end of stream', () => {
    expect(parseAll('data: a\n\ndata: [DONE]\n')).toEqual([message('a'), message('[DONE]')]);
    expect(parseAll('data: a\n\ndata: [DONE]')).toEqual([message('a'), message('[DONE]')]);
  });

  it('flushes an incomplete UTF-8 sequence at end as a replacement character', () => {
    const parser = new SseParser();
    expect(parser.push(Uint8Array.of(...encoder.encode('data: '), 0xe4, 0xbd))).toEqual([]);
    expect(parser.end()).toEqual([message('\uFFFD')]);
  });

  it('returns nothing more after end when the stream ended cleanly', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\n\n')).toEqual([message('a')]);
    expect(parser.end()).toEqual([]);
  });

  it('throws when a line exceeds the bound, even if it arrives in pieces', () => {
    const parser = new SseParser({ maxLineChars: 16 });
    expect(parser.push('data: 0123456789')).toEqual([]);
    expect(() => parser.push('x')).toThrow(SseLineTooLongError);
  });

  it('throws when one event accumulates more data than the bound', () => {
    const parser = new SseParser({ maxLineChars: 16 });
    expect(() => parser.push('data: 12345\ndata: 67890\ndata: abcde\n')).toThrow(/exceeds 16 characters/);
  });

  it('accepts a line exactly at the bound', () => {
    const parser = new SseParser({ maxLineChars: 10 });
    expect([...parser.push('data: abcd\n\n'), ...parser.end()]).toEqual([message('abcd')]);
  });

  it('defaults the bound to 8 MiB and handles a large event in one chunk', () => {
    expect(MAX_SSE_LINE_CHARS).toBe(8 * 1024 * 1024);
    const big = 'x'.repeat(1024 * 1024);
    expect(parseAll(`data: ${big}\n\n`)).toEqual([message(big)]);
  });
});
