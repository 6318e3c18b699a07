import { describe, expect, it } from 'vitest';

import { ackFrame, CALLBACK_ACK_DATA, EVENT_ACK_DATA, parseFrame, type ParsedFrame } from './frames.js';

const BOT_TOPIC = '/v1.0/im/bot/messages/get';

function frame(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

function callback(data: unknown, headers: Record<string, unknown> = {}): string {
  return frame({
    specVersion: '1.0',
    type: 'CALLBACK',
    headers: {
      messageId: 'm-1',
      topic: BOT_TOPIC,
      contentType: 'application/json',
      time: '1700000000000',
      ...headers,
    },
    data: typeof data === 'string' ? data : JSON.stringify(data),
  });
}

describe('parseFrame', () => {
  it('parses a bot-message CALLBACK and decodes its data', () => {
    expect(parseFrame(callback({ msgId: 'x', text: { content: 'hi' } }))).toEqual({
      kind: 'callback',
      messageId: 'm-1',
      topic: BOT_TOPIC,
      data: { msgId: 'x', text: { content: 'hi' } },
    });
  });

  it('tolerates unknown envelope and header keys and a numeric time', () => {
    const text = frame({
      type: 'CALLBACK',
      extra: true,
      headers: { messageId: 'm-2', topic: 't', time: 1700000000000, appId: 'a', connectionId: 'c' },
      data: '{}',
    });
    expect(parseFrame(text)).toEqual({ kind: 'callback', messageId: 'm-2', topic: 't', data: {} });
  });

  it('uses an empty topic when the header is missing', () => {
    expect(parseFrame(frame({ type: 'CALLBACK', headers: { messageId: 'm' }, data: '[1]' }))).toEqual({
      kind: 'callback',
      messageId: 'm',
      topic: '',
      data: [1],
    });
  });

  it('parses an EVENT', () => {
    const text = frame({
      type: 'EVENT',
      headers: { messageId: 'e-1', topic: 'chat_update_title' },
      data: '{"a":1}',
    });
    expect(parseFrame(text)).toEqual({ kind: 'event', messageId: 'e-1', topic: 'chat_update_title' });
  });

  it('parses a SYSTEM ping and keeps its data verbatim for the echo', () => {
    const data = '{"opaque":"abc"}';
    expect(parseFrame(frame({ type: 'SYSTEM', headers: { messageId: 'p-1', topic: 'ping' }, data }))).toEqual(
      {
        kind: 'ping',
        messageId: 'p-1',
        data,
      },
    );
  });

  it('a ping without data echoes an empty string', () => {
    expect(parseFrame(frame({ type: 'SYSTEM', headers: { messageId: 'p-2', topic: 'ping' } }))).toEqual({
      kind: 'ping',
      messageId: 'p-2',
      data: '',
    });
  });

  it.each([
    ['a reason', '{"reason":"server maintenance"}', { messageId: 'm-d' }, 'server maintenance'],
    ['no data', undefined, { messageId: 'm-d' }, 'unspecified'],
    ['data that is not JSON', 'going away', { messageId: 'm-d' }, 'unspecified'],
    ['data that is JSON null', 'null', { messageId: 'm-d' }, 'unspecified'],
    ['a number as data', '42', { messageId: 'm-d' }, 'unspecified'],
    ['a non-string reason', '{"reason":{"x":1}}', { messageId: 'm-d' }, 'unspecified'],
    ['no messageId', '{"reason":"bye"}', { messageId: undefined }, 'bye'],
  ])('parses a SYSTEM disconnect with %s', (_name, data, { messageId }, reason) => {
    const headers = { messageId, topic: 'disconnect' };
    expect(parseFrame(frame({ type: 'SYSTEM', headers, data }))).toEqual({
      kind: 'disconnect',
      messageId,
      reason,
    });
  });

  it('cuts a very long disconnect reason to 200 characters', () => {
    const parsed = parseFrame(
      frame({
        type: 'SYSTEM',
        headers: { topic: 'disconnect' },
        data: JSON.stringify({ reason: 'r'.repeat(5_000) }),
      }),
    );
    expect(parsed).toEqual({ kind: 'disconnect', messageId: undefined, reason: 'r'.repeat(200) });
  });

  it.each<[string, string, ParsedFrame]>([
    [
      'a SYSTEM frame with an unknown topic',
      frame({ type: 'SYSTEM', headers: { messageId: 's-1', topic: 'KEEPALIVE' } }),
      { kind: 'invalid', messageId: 's-1', reason: 'unknown SYSTEM topic "KEEPALIVE"' },
    ],
    [
      'an unknown frame type',
      frame({ type: 'PUSH', headers: { messageId: 'u-1', topic: 't' }, data: '{}' }),
      { kind: 'invalid', messageId: 'u-1', reason: 'unknown frame type "PUSH"' },
    ],
    [
      'a CALLBACK without data',
      frame({ type: 'CALLBACK', headers: { messageId: 'c-1', topic: BOT_TOPIC } }),
      { kind: 'invalid', messageId: 'c-1', reason: 'CALLBACK frame has no data' },
    ],
    [
      'a CALLBACK whose data is not JSON',
      callback('{not json', { messageId: 'c-2' }),
      { kind: 'invalid', messageId: 'c-2', reason: 'CALLBACK data is not JSON' },
    ],
    [
      'a CALLBACK without messageId',
      frame({ type: 'CALLBACK', headers: { topic: BOT_TOPIC }, data: '{}' }),
      { kind: 'invalid', messageId: undefined, reason: 'frame has no headers.messageId' },
    ],
    [
      'an EVENT without messageId',
      frame({ type: 'EVENT', headers: { topic: 'x' } }),
      { kind: 'invalid', messageId: undefined, reason: 'frame has no headers.messageId' },
    ],
  ])('marks %s invalid', (_name, text, expected) => {
    expect(parseFrame(text)).toEqual(expected);
  });

  it('cuts an unknown SYSTEM topic and frame type in the reason', () => {
    const topic = parseFrame(frame({ type: 'SYSTEM', headers: { messageId: 's', topic: 't'.repeat(500) } }));
    expect(topic).toEqual({
      kind: 'invalid',
      messageId: 's',
      reason: `unknown SYSTEM topic "${'t'.repeat(64)}"`,
    });
    const type = parseFrame(frame({ type: 'X'.repeat(500), headers: { messageId: 's' } }));
    expect(type).toEqual({
      kind: 'invalid',
      messageId: 's',
      reason: `unknown frame type "${'X'.repeat(32)}"`,
    });
  });

  it('a ping without messageId is invalid (it could not be answered)', () => {
    expect(parseFrame(frame({ type: 'SYSTEM', headers: { topic: 'ping' }, data: '{}' }))).toMatchObject({
      kind: 'invalid',
      messageId: undefined,
    });
  });

  it.each([
    [
      'truncated JSON that still names its id',
      '{"type":"CALLBACK","headers":{"messageId":"abc-123","topic":"/x"},"data":"{\\"a',
      'abc-123',
    ],
    ['spaces around the colon', '{"headers": { "messageId" :  "sp-1" , ', 'sp-1'],
    ['no id at all', '{"type":"CALLBACK",', undefined],
    ['an empty id', '{"headers":{"messageId":""', undefined],
    ['an empty string', '', undefined],
    ['plain text', 'hello', undefined],
  ])(
    'marks a frame that is not JSON invalid, keeping the id when extractable: %s',
    (_name, text, messageId) => {
      expect(parseFrame(text)).toEqual({ kind: 'invalid', messageId, reason: 'frame is not JSON' });
    },
  );

  it('does not extract an overlong id from broken JSON', () => {
    const text = `{"headers":{"messageId":"${'a'.repeat(201)}"`;
    expect(parseFrame(text)).toEqual({ kind: 'invalid', messageId: undefined, reason: 'frame is not JSON' });
  });

  it.each([
    ['null', 'null', undefined],
    ['a number', '42', undefined],
    ['a string', '"CALLBACK"', undefined],
    ['a boolean', 'true', undefined],
    ['an array', '[{"type":"CALLBACK","headers":{"messageId":"a"}}]', undefined],
    ['an empty object', '{}', undefined],
    ['headers missing', '{"type":"CALLBACK","data":"{}"}', undefined],
    ['headers null', '{"type":"CALLBACK","headers":null}', undefined],
    ['headers an array', '{"type":"CALLBACK","headers":["messageId"]}', undefined],
    ['type missing, id present', '{"headers":{"messageId":"k-1"},"data":"{}"}', 'k-1'],
    ['type not a string, id present', '{"type":7,"headers":{"messageId":"k-2"}}', 'k-2'],
    [
      'data not a string, id present',
      '{"type":"CALLBACK","headers":{"messageId":"k-3"},"data":{"a":1}}',
      'k-3',
    ],
    ['messageId a number', '{"type":"CALLBACK","headers":{"messageId":5},"data":"{}"}', undefined],
    ['messageId empty', '{"type":"CALLBACK","headers":{"messageId":""},"data":"{}"}', undefined],
    [
      'topic a number, id present',
      '{"type":"CALLBACK","headers":{"messageId":"k-4","topic":1},"data":"{}"}',
      'k-4',
    ],
  ])('marks a malformed envelope invalid: %s', (_name, text, messageId) => {
    expect(parseFrame(text)).toEqual({ kind: 'invalid', messageId, reason: 'frame envelope is malformed' });
  });

  it('never throws, whatever the input', () => {
    const inputs = [
      '\u0000',
      '{'.repeat(10_000),
      '['.repeat(10_000),
      '{"__proto__":{"type":"CALLBACK"},"headers":{}}',
      '{"type":"CALLBACK","headers":{"messageId":"x"},"data":"\\u0000"}',
      JSON.stringify({ type: 'CALLBACK', headers: { messageId: 'm' }, data: 'x'.repeat(100_000) }),
    ];
    for (const input of inputs) expect(() => parseFrame(input)).not.toThrow();
  });
});

describe('ackFrame', () => {
  it('builds the documented ACK envelope', () => {
    expect(JSON.parse(ackFrame('m-1', CALLBACK_ACK_DATA))).toEqual({
      code: 200,
      headers: { contentType: 'application/json', messageId: 'm-1' },
      message: 'OK',
      data: '{"response":null}',
    });
  });

  it('passes custom code and message through and keeps data a string', () => {
    const ack: unknown = JSON.parse(ackFrame('m-2', EVENT_ACK_DATA, 500, 'failed'));
    expect(ack).toEqual({
      code: 500,
      headers: { contentType: 'application/json', messageId: 'm-2' },
      message: 'failed',
      data: EVENT_ACK_DATA,
    });
  });

  it('echoes a ping by putting its data back verbatim', () => {
    const ping = parseFrame(
      frame({ type: 'SYSTEM', headers: { messageId: 'p', topic: 'ping' }, data: '{"opaque":"q\\"x"}' }),
    );
    expect(ping.kind).toBe('ping');
    const { data } = ping as Extract<ParsedFrame, { kind: 'ping' }>;
    expect((JSON.parse(ackFrame('p', data)) as { data: string }).data).toBe('{"opaque":"q\\"x"}');
  });

  it('escapes ids so the ACK stays valid JSON', () => {
    const id = 'a"b\\c\n';
    expect((JSON.parse(ackFrame(id, '{}')) as { headers: { messageId: string } }).headers.messageId).toBe(id);
  });

  it('ACK data constants are JSON documents of the documented shape', () => {
    expect(JSON.parse(CALLBACK_ACK_DATA)).toEqual({ response: null });
    expect(JSON.parse(EVENT_ACK_DATA)).toEqual({ status: 'SUCCESS', message: 'ok' });
  });
});
