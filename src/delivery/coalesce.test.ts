import { describe, expect, it } from 'vitest';

import { isTextual, type OutgoingMessage, type TextualMessage } from '../dingtalk/outgoing-message.js';
import { coalesce, coalescibleCount } from './coalesce.js';

function text(length: number, fill = 'a'): TextualMessage {
  return { kind: 'text', text: fill.repeat(length) };
}

function markdown(length: number, title = 'T'): TextualMessage {
  return { kind: 'markdown', title, text: 'm'.repeat(length) };
}

const IMAGE: OutgoingMessage = { kind: 'image', mediaId: '@img' };

describe('coalescibleCount', () => {
  it('is 0 for an empty queue', () => {
    expect(coalescibleCount([], 100)).toBe(0);
  });

  it('always takes the head, even when it alone exceeds maxChars', () => {
    expect(coalescibleCount([text(500), text(1)], 100)).toBe(1);
  });

  it('takes followers while the joined text (with separators) stays within maxChars', () => {
    // 40 + 2 + 40 = 82; one more gives 124.
    expect(coalescibleCount([text(40), text(40), text(40)], 100)).toBe(2);
    // Exactly maxChars fits: 10 + 2 + 10 + 2 + 10 = 34.
    expect(coalescibleCount([text(10), text(10), text(10), text(1)], 34)).toBe(3);
    expect(coalescibleCount([text(10), text(10), text(10)], 33)).toBe(2);
  });

  it('stops at the first message of another kind', () => {
    expect(coalescibleCount([text(1), text(1), markdown(1), text(1)], 100)).toBe(2);
    expect(coalescibleCount([markdown(1), markdown(1), text(1)], 100)).toBe(2);
  });

  it('never joins media messages, as head or as follower', () => {
    expect(coalescibleCount([IMAGE, IMAGE, text(1)], 100)).toBe(1);
    expect(coalescibleCount([text(1), IMAGE, text(1)], 100)).toBe(1);
    expect(coalescibleCount([markdown(1), markdown(1), IMAGE], 100)).toBe(2);
  });

  it('stops at the first follower that does not fit, even if a later one would', () => {
    expect(coalescibleCount([text(10), text(90), text(1)], 50)).toBe(1);
  });

  it('never yields a coalesced message longer than maxChars', () => {
    const queue = [3, 17, 1, 25, 9, 40, 2, 2, 30].map((length) => text(length));
    for (const maxChars of [10, 20, 35, 50, 80]) {
      let rest = queue;
      while (rest.length > 0) {
        const count = coalescibleCount(rest, maxChars);
        const joined = coalesce(rest.slice(0, count));
        expect(count === 1 || (isTextual(joined) && joined.text.length <= maxChars)).toBe(true);
        rest = rest.slice(count);
      }
    }
  });
});

describe('coalesce', () => {
  it('joins text messages with a blank line', () => {
    expect(
      coalesce([
        { kind: 'text', text: 'one' },
        { kind: 'text', text: '二' },
      ]),
    ).toEqual({ kind: 'text', text: 'one\n\n二' });
  });

  it('keeps the first markdown title', () => {
    expect(
      coalesce([
        { kind: 'markdown', title: 'First', text: '**a**' },
        { kind: 'markdown', title: 'Second', text: '- b' },
      ]),
    ).toEqual({ kind: 'markdown', title: 'First', text: '**a**\n\n- b' });
  });

  it('returns a single message unchanged', () => {
    const only: OutgoingMessage = { kind: 'markdown', title: 'Only', text: 'x' };
    expect(coalesce([only])).toEqual(only);
  });

  it('returns a single media message unchanged', () => {
    expect(coalesce([IMAGE])).toEqual(IMAGE);
  });

  it('refuses an empty list', () => {
    expect(() => coalesce([])).toThrow(RangeError);
  });
});
