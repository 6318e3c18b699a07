import { describe, expect, it } from 'vitest';

import { capHeapGrowth, hasOwnHeapGrowth } from './heap-growth.js';

describe('heap growth cap', () => {
  it.each([
    [['--heap-growing-percent=0'], true],
    [['--max-semi-space-size=8', '--heap-growing-percent', '50'], true],
    [[], false],
    [['--max-old-space-size=512', '--heap-growing-percentage=5'], false],
  ])('execArgv %j has its own setting: %s', (execArgv, expected) => {
    expect(hasOwnHeapGrowth(execArgv)).toBe(expected);
  });

  it('leaves a setting given on the command line alone', () => {
    expect(capHeapGrowth(['--heap-growing-percent=0'])).toBeUndefined();
  });
});
