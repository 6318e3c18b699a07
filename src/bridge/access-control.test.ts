import { describe, expect, it } from 'vitest';

import { inboundMessage as message } from '../../test/helpers/inbound-message.js';
import type { InboundMessage } from './inbound-message.js';

import { decideAccess, stripPrefix } from './access-control.js';

type Rules = Parameters<typeof decideAccess>[1];

const OPEN: Rules = {
  allowFrom: [],
  requireMention: false,
  requirePrefix: undefined,
  mentionBypassUsers: [],
};

describe('stripPrefix', () => {
  it.each([
    ['/ai hello', '/ai', 'hello'],
    ['/AI hello', '/ai', 'hello'],
    ['/ai    \n  hello  ', '/ai', 'hello  '],
    ['/ai', '/ai', ''],
    ['小助手 你好', '小助手', '你好'],
  ])('strips %j with prefix %j → %j', (text, prefix, expected) => {
    expect(stripPrefix(text, prefix)).toBe(expected);
  });

  it.each([
    ['hello /ai', '/ai'],
    ['/a', '/ai'],
    ['', '/ai'],
    [' /ai hello', '/ai'],
  ])('returns undefined when %j does not start with %j', (text, prefix) => {
    expect(stripPrefix(text, prefix)).toBeUndefined();
  });
});

describe('decideAccess', () => {
  describe('allowFrom', () => {
    it.each([
      ['empty list allows everyone', [], message(), true],
      ['"*" allows everyone', ['*'], message(), true],
      ['matches senderStaffId', ['staff-1'], message(), true],
      ['matches senderId', ['$:LWCP_v1:$enc1'], message({ senderStaffId: undefined }), true],
      ['matches senderId even when a staffId exists', ['$:LWCP_v1:$enc1'], message(), true],
      ['rejects an unlisted sender', ['staff-2'], message(), false],
      ['is case-sensitive', ['STAFF-1'], message(), false],
      [
        'rejects a sender without any id',
        ['staff-1'],
        message({ senderStaffId: undefined, senderId: undefined }),
        false,
      ],
      ['applies to groups too', ['staff-2'], message({ chatType: 'group', isMentioned: true }), false],
    ])('%s', (_name, allowFrom: string[], input, allowed) => {
      const decision = decideAccess(input, { ...OPEN, allowFrom });
      expect(decision.allowed).toBe(allowed);
    });

    it('rejects with reason sender-not-allowed, before looking at the text', () => {
      expect(decideAccess(message({ text: '' }), { ...OPEN, allowFrom: ['someone-else'] })).toEqual({
        allowed: false,
        reason: 'sender-not-allowed',
      });
    });
  });

  describe('direct messages', () => {
    it('ignore mention and prefix gates', () => {
      const rules: Rules = { ...OPEN, requireMention: true, requirePrefix: '/ai' };
      expect(decideAccess(message({ text: 'just text' }), rules)).toEqual({
        allowed: true,
        text: 'just text',
      });
    });

    it('keep a leading prefix in DMs (only groups strip it)', () => {
      const rules: Rules = { ...OPEN, requirePrefix: '/ai' };
      expect(decideAccess(message({ text: '/ai hi' }), rules)).toEqual({ allowed: true, text: '/ai hi' });
    });
  });

  describe('groups', () => {
    const group = (overrides: Partial<InboundMessage> = {}) => message({ chatType: 'group', ...overrides });

    it.each([
      ['no gate: every message', OPEN, group(), { allowed: true, text: 'hello' }],
      [
        'requireMention, mentioned',
        { ...OPEN, requireMention: true },
        group({ isMentioned: true }),
        { allowed: true, text: 'hello' },
      ],
      [
        'requireMention, not mentioned',
        { ...OPEN, requireMention: true },
        group(),
        { allowed: false, reason: 'not-mentioned' },
      ],
      [
        'requireMention, not mentioned but bypass user (staffId)',
        { ...OPEN, requireMention: true, mentionBypassUsers: ['staff-1'] },
        group(),
        { allowed: true, text: 'hello' },
      ],
      [
        'requireMention, not mentioned but bypass user (senderId)',
        { ...OPEN, requireMention: true, mentionBypassUsers: ['$:LWCP_v1:$enc1'] },
        group(),
        { allowed: true, text: 'hello' },
      ],
      [
        'requireMention, bypass "*"',
        { ...OPEN, requireMention: true, mentionBypassUsers: ['*'] },
        group(),
        { allowed: true, text: 'hello' },
      ],
      [
        'requireMention, other bypass user',
        { ...OPEN, requireMention: true, mentionBypassUsers: ['staff-9'] },
        group(),
        { allowed: false, reason: 'not-mentioned' },
      ],
      [
        'prefix only, prefix matches',
        { ...OPEN, requirePrefix: '/ai' },
        group({ text: '/ai  what is up' }),
        { allowed: true, text: 'what is up' },
      ],
      [
        'prefix only, prefix in other case',
        { ...OPEN, requirePrefix: '/ai' },
        group({ text: '/AI what' }),
        { allowed: true, text: 'what' },
      ],
      [
        'prefix only, no prefix',
        { ...OPEN, requirePrefix: '/ai' },
        group({ text: 'what' }),
        { allowed: false, reason: 'not-mentioned' },
      ],
      [
        'prefix only, no prefix, even when mentioned',
        { ...OPEN, requirePrefix: '/ai' },
        group({ text: 'what', isMentioned: true }),
        { allowed: false, reason: 'not-mentioned' },
      ],
      [
        'mention or prefix: prefix without mention',
        { ...OPEN, requireMention: true, requirePrefix: '/ai' },
        group({ text: '/ai go' }),
        { allowed: true, text: 'go' },
      ],
      [
        'mention or prefix: mention without prefix',
        { ...OPEN, requireMention: true, requirePrefix: '/ai' },
        group({ text: 'go', isMentioned: true }),
        { allowed: true, text: 'go' },
      ],
      [
        'mention and prefix: prefix still stripped',
        { ...OPEN, requireMention: true, requirePrefix: '/ai' },
        group({ text: '/ai go', isMentioned: true }),
        { allowed: true, text: 'go' },
      ],
      [
        'a prefix later in the text is not stripped',
        { ...OPEN, requireMention: true, requirePrefix: '/ai' },
        group({ text: 'go /ai', isMentioned: true }),
        { allowed: true, text: 'go /ai' },
      ],
      [
        'bypass user with prefix gets the prefix stripped',
        { ...OPEN, requirePrefix: '/ai', mentionBypassUsers: ['staff-1'] },
        group({ text: '/ai go' }),
        { allowed: true, text: 'go' },
      ],
      [
        'bypass user without prefix keeps the text',
        { ...OPEN, requirePrefix: '/ai', mentionBypassUsers: ['staff-1'] },
        group({ text: 'go' }),
        { allowed: true, text: 'go' },
      ],
    ] as const)('%s', (_name, rules, input, expected) => {
      expect(decideAccess(input, rules)).toEqual(expected);
    });
  });

  describe('empty text', () => {
    it.each([
      ['an empty DM', message({ text: '' }), OPEN],
      ['a whitespace DM', message({ text: ' \n\t ' }), OPEN],
      [
        'a group message that is only the prefix',
        message({ chatType: 'group', text: '/ai  ' }),
        { ...OPEN, requirePrefix: '/ai' },
      ],
      [
        'a mention with no text',
        message({ chatType: 'group', text: '', isMentioned: true }),
        { ...OPEN, requireMention: true },
      ],
    ])('%s is rejected as empty', (_name, input, rules) => {
      expect(decideAccess(input, rules)).toEqual({ allowed: false, reason: 'empty' });
    });

    it('a gate failure wins over empty text', () => {
      expect(
        decideAccess(message({ chatType: 'group', text: '' }), { ...OPEN, requireMention: true }),
      ).toEqual({
        allowed: false,
        reason: 'not-mentioned',
      });
    });
  });
});
