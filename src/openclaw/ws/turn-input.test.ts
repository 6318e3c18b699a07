import { describe, expect, it } from 'vitest';

import type { AgentTurn } from '../agent-transport.js';
import { chatSendInput, qualifiedSessionKey } from './turn-input.js';

function turn(overrides: Partial<AgentTurn> = {}): AgentTurn {
  return {
    sessionKey: 'dingtalk:default:group:cidAbC==',
    agentId: 'ops',
    messages: [{ role: 'user', content: 'hi' }],
    idempotencyKey: 'msg-1',
    signal: new AbortController().signal,
    ...overrides,
  };
}

const base64Of = (bytes: number): string => Buffer.alloc(bytes, 1).toString('base64');

describe('chatSendInput', () => {
  it('sends the last user message as text, with our key qualified by the agent', () => {
    const input = chatSendInput(
      turn({
        messages: [
          { role: 'system', content: 'media instructions' },
          { role: 'user', content: 'older' },
          { role: 'user', content: 'newest' },
        ],
        thinking: 'low',
      }),
    );

    expect(input.params).toEqual({
      sessionKey: 'agent:ops:dingtalk:default:group:cidAbC==',
      agentId: 'ops',
      message: 'newest',
      idempotencyKey: 'msg-1',
      suppressCommandInterpretation: true,
      thinking: 'low',
    });
    expect(input.droppedSystemMessages).toBe(1);
  });

  it('joins text parts, attaches data-URL images and names other image URLs', () => {
    const input = chatSendInput(
      turn({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: '[quoted] earlier' },
              { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${base64Of(3)}` } },
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            ],
          },
        ],
      }),
    );

    expect(input.params['message']).toBe(
      '[quoted] earlier\n\nwhat is this?\n\n[image: https://example.com/a.png]',
    );
    expect(input.params['attachments']).toEqual([
      { type: 'image', mimeType: 'image/jpeg', fileName: 'image-1.jpg', content: base64Of(3) },
    ]);
  });

  it('leaves out images over the gateway limit and tells the agent', () => {
    const input = chatSendInput(
      turn({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${base64Of(11)}` } },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${base64Of(10)}` } },
            ],
          },
        ],
      }),
      { maxBytes: 100, maxImageBytes: 10 },
    );

    expect(input.droppedAttachments).toEqual(['image-1.png']);
    expect(input.params['message']).toBe(
      '[image-1.png omitted: larger than the 10 bytes the assistant accepts]',
    );
    expect(input.params['attachments']).toEqual([
      { type: 'image', mimeType: 'image/png', fileName: 'image-2.png', content: base64Of(10) },
    ]);
  });

  it('attaches the turn files after the images, leaving out those over the gateway limit', () => {
    const input = chatSendInput(
      turn({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: '[file "scores.csv", 9 B: attached]' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${base64Of(4)}` } },
            ],
          },
        ],
        files: [
          { fileName: 'scores.csv', mimeType: 'text/csv', bytes: Buffer.from('a,b\n1,2\n') },
          { fileName: 'huge.pdf', mimeType: 'application/pdf', bytes: Buffer.alloc(101) },
        ],
      }),
      { maxBytes: 100 },
    );

    expect(input.droppedAttachments).toEqual(['huge.pdf']);
    expect(input.params['message']).toBe(
      '[file "scores.csv", 9 B: attached]\n\n[huge.pdf omitted: larger than the 100 bytes the assistant accepts]',
    );
    expect(input.params['attachments']).toEqual([
      { type: 'image', mimeType: 'image/png', fileName: 'image-1.png', content: base64Of(4) },
      {
        type: 'file',
        mimeType: 'text/csv',
        fileName: 'scores.csv',
        content: Buffer.from('a,b\n1,2\n').toString('base64'),
      },
    ]);
  });
});

describe('qualifiedSessionKey', () => {
  it('prefixes the agent unless the key already names one', () => {
    expect(qualifiedSessionKey('dingtalk:default:dm:u1', 'main')).toBe('agent:main:dingtalk:default:dm:u1');
    expect(qualifiedSessionKey('agent:ops:x', 'main')).toBe('agent:ops:x');
  });
});
