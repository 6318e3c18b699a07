import { describe, expect, it } from 'vitest';

import { encodeHeaderValue, parseRetryAfterMs } from './http-answer.js';

describe('encodeHeaderValue', () => {
  it('keeps printable ASCII and percent-encodes the rest as UTF-8', () => {
    expect(encodeHeaderValue('dingtalk:group:cidAbC+/=_-.~')).toBe('dingtalk:group:cidAbC+/=_-.~');
    expect(encodeHeaderValue('张')).toBe('%E5%BC%A0');
    expect(encodeHeaderValue('a b\r\n\t%')).toBe('a%20b%0D%0A%09%25');
    expect(encodeHeaderValue('😀')).toBe('%F0%9F%98%80');
  });

  it('keeps distinct keys distinct', () => {
    expect(encodeHeaderValue('%E5%BC%A0')).not.toBe(encodeHeaderValue('张'));
  });
});

describe('parseRetryAfterMs', () => {
  const nowMs = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    [undefined, undefined],
    ['0', 0],
    [' 12 ', 12_000],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
  ])('parses %j', (value, expected) => {
    expect(parseRetryAfterMs(value, nowMs)).toBe(expected);
  });
});
