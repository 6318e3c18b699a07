import { describe, expect, it } from 'vitest';

import { inboundMessage } from '../../test/helpers/inbound-message.js';
import { boundInboundText, truncationNote } from './inbound-limits.js';

describe('boundInboundText', () => {
  it('returns a message within the limit unchanged', () => {
    const message = inboundMessage({ text: 'x'.repeat(100) });
    expect(boundInboundText(message, 100)).toEqual({ message, cutFromChars: undefined });
  });

  it('cuts text and text segments at the limit and tells the agent how much there was', () => {
    const long = 'a'.repeat(1_000);
    const { message, cutFromChars } = boundInboundText(inboundMessage({ text: long }), 100);
    expect(cutFromChars).toBe(1_000);
    expect(message.text).toBe(`${'a'.repeat(100)}${truncationNote(100, 1_000)}`);
    expect(message.segments).toEqual([{ type: 'text', text: message.text }]);
  });

  it('shares the limit between the text segments of a rich message and keeps its media', () => {
    const segments = [
      { type: 'text', text: 'b'.repeat(60) },
      { type: 'picture', downloadCode: 'p1' },
      { type: 'text', text: 'c'.repeat(60) },
      { type: 'text', text: 'gone' },
      { type: 'picture', downloadCode: 'p2' },
    ] as const;
    const { message } = boundInboundText(
      inboundMessage({ text: 'short view', segments, msgtype: 'richText' }),
      100,
    );
    expect(message.text).toBe('short view');
    expect(message.segments).toEqual([
      segments[0],
      segments[1],
      { type: 'text', text: `${'c'.repeat(40)}${truncationNote(100, 124)}` },
      segments[4],
    ]);
  });

  it('bounds the quoted message as well', () => {
    const quoted = { msgtype: 'text', segments: [{ type: 'text', text: 'q'.repeat(500) }] } as const;
    const { message } = boundInboundText(inboundMessage({ text: 'reply', quoted }), 100);
    expect(message.quoted?.segments).toEqual([
      { type: 'text', text: `${'q'.repeat(100)}${truncationNote(100, 500)}` },
    ]);
  });

  it('never splits a surrogate pair', () => {
    const { message } = boundInboundText(inboundMessage({ text: '😀'.repeat(100) }), 101);
    expect(message.text.startsWith('😀'.repeat(50))).toBe(true);
    expect(message.text.charAt(100)).toBe('\n');
  });
});
