import { describe, expect, it } from 'vitest';

import { interpretJsonAnswer, interpretStreamEvent } from './chat-stream-events.js';
import { OpenClawTurnStreamError } from './chat-turn-errors.js';
import type { SseEvent } from './sse-parser.js';

function event(data: string, type = 'message'): SseEvent {
  return { type, data, lastEventId: '' };
}

describe('interpretStreamEvent', () => {
  it('reads text, finish reason and usage of choice 0', () => {
    const data = JSON.stringify({
      choices: [
        { index: 1, delta: { content: 'other' } },
        { index: 0, delta: { content: 'hi' }, finish_reason: 'stop' },
      ],
      usage: { total_tokens: 4 },
    });
    expect(interpretStreamEvent(event(data), 0)).toEqual({
      kind: 'part',
      part: { text: 'hi', finishReason: 'stop', usage: { total_tokens: 4 } },
    });
  });

  it('gives no text for role-only, empty and null deltas', () => {
    for (const delta of [{ role: 'assistant' }, { content: '' }, { content: null }]) {
      const step = interpretStreamEvent(event(JSON.stringify({ choices: [{ delta }] })), 0);
      expect(step).toEqual({
        kind: 'part',
        part: { text: undefined, finishReason: undefined, usage: undefined },
      });
    }
  });

  it('recognises [DONE] with surrounding whitespace', () => {
    expect(interpretStreamEvent(event(' [DONE] '), 0)).toEqual({ kind: 'done' });
  });

  it('skips unknown events, malformed JSON and unexpected shapes', () => {
    expect(interpretStreamEvent(event('x', 'custom'), 0)).toEqual({
      kind: 'skipped',
      warning: 'unknown-event',
      data: 'custom',
    });
    expect(interpretStreamEvent(event('{"a'), 0)).toMatchObject({ warning: 'malformed-json', data: '{"a' });
    expect(interpretStreamEvent(event('{"hello":1}'), 0)).toMatchObject({ warning: 'unexpected-shape' });
  });

  it('throws error events with the partial text length and the API type', () => {
    const payload = '{"error":{"message":"boom","type":"api_error"}}';
    for (const failing of [event(payload, 'error'), event(payload)]) {
      let thrown: unknown;
      try {
        interpretStreamEvent(failing, 5);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OpenClawTurnStreamError);
      expect(thrown).toMatchObject({
        message: 'OpenClaw stream failed: boom',
        kind: 'error-event',
        partialTextChars: 5,
        apiType: 'api_error',
      });
    }
  });

  it('uses the raw data of a non-JSON error event as its message', () => {
    expect(() => interpretStreamEvent(event('overloaded', 'error'), 0)).toThrow(
      'OpenClaw stream failed: overloaded',
    );
  });
});

describe('interpretJsonAnswer', () => {
  it('reads the first choice of a chat completion', () => {
    const raw = JSON.stringify({
      choices: [{ message: { role: 'assistant', content: 'whole' }, finish_reason: 'stop' }],
    });
    expect(interpretJsonAnswer(raw)).toEqual({ text: 'whole', finishReason: 'stop', usage: undefined });
  });

  it('throws for an error body and for anything that is not a chat completion', () => {
    expect(() => interpretJsonAnswer('{"error":"nope"}')).toThrow('OpenClaw stream failed: nope');
    expect(() => interpretJsonAnswer('not json')).toThrow(
      expect.objectContaining({ kind: 'malformed-response', partialTextChars: 0 }),
    );
  });
});
