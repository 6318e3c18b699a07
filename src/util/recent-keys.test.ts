import { describe, expect, it } from 'vitest';

import { RecentKeys } from './recent-keys.js';

describe('RecentKeys', () => {
  it('holds the keys added, up to its capacity', () => {
    const keys = new RecentKeys(3);
    keys.add('a');
    keys.add('b');
    expect(keys.has('a')).toBe(true);
    expect(keys.has('b')).toBe(true);
    expect(keys.has('c')).toBe(false);
    expect(keys.size).toBe(2);
  });

  it('forgets the oldest key when full', () => {
    const keys = new RecentKeys(3);
    keys.add('a');
    keys.add('b');
    keys.add('c');
    keys.add('d');
    expect(keys.has('a')).toBe(false);
    expect([keys.has('b'), keys.has('c'), keys.has('d')]).toEqual([true, true, true]);
    expect(keys.size).toBe(3);
    keys.add('a');
    expect(keys.has('b')).toBe(false);
    expect(keys.has('a')).toBe(true);
  });

  it('does not grow when a held key is added again', () => {
    const keys = new RecentKeys(2);
    keys.add('a');
    keys.add('a');
    keys.add('b');
    expect(keys.size).toBe(2);
    expect(keys.has('a')).toBe(true);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentKeys(0)).toThrow(RangeError);
    expect(() => new RecentKeys(1.5)).toThrow(RangeError);
  });
});
