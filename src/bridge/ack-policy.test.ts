import { describe, expect, it } from 'vitest';

import { decideAck, type IntakeOutcome } from './ack-policy.js';

describe('decideAck', () => {
  it.each<[IntakeOutcome, 'ack' | 'no-ack']>([
    ['accepted', 'ack'],
    ['duplicate', 'ack'],
    ['rejected', 'ack'],
    ['rate-limited', 'ack'],
    ['invalid', 'ack'],
    ['ignored-topic', 'ack'],
    ['shutting-down', 'no-ack'],
    ['record-failed', 'no-ack'],
  ])('%s → %s', (outcome, expected) => {
    expect(decideAck(outcome)).toBe(expected);
  });
});
