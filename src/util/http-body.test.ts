import { Readable } from 'node:stream';

import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';

import { firstHeader, readBodyCapped } from './http-body.js';

function body(...parts: string[]): Dispatcher.ResponseData['body'] {
  return Readable.from(parts.map((part) => Buffer.from(part))) as unknown as Dispatcher.ResponseData['body'];
}

describe('readBodyCapped', () => {
  it('reads a body up to and including the cap', async () => {
    const seen: number[] = [];
    const result = await readBodyCapped(body('ab', 'cd'), 4, (total) => seen.push(total));
    expect(result.bytes.toString()).toBe('abcd');
    expect(result.isTruncated).toBe(false);
    expect(seen).toEqual([2, 4]);
  });

  it('stops at the part that crosses the cap, keeps what came before and destroys the stream', async () => {
    const stream = body('ab', 'cde', 'f');
    const result = await readBodyCapped(stream, 4);
    expect(result).toEqual({ bytes: Buffer.from('ab'), isTruncated: true });
    expect((stream as unknown as Readable).destroyed).toBe(true);
  });
});

describe('firstHeader', () => {
  it('takes the first of repeated values', () => {
    expect(firstHeader(['a', 'b'])).toBe('a');
    expect(firstHeader('one')).toBe('one');
    expect(firstHeader(undefined)).toBeUndefined();
  });
});
