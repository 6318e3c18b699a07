import { describe, expect, it } from 'vitest';

import { SECRET_KEYS as CONFIG_SECRET_KEYS } from '../config/schema.js';
import { isSecretKey, maskUrl, maskUrlsInText, REDACTED, scrubForLog } from './redact.js';

describe('maskUrl', () => {
  it.each([
    [
      'a session webhook',
      'https://oapi.dingtalk.com/robot/sendBySession?session=79b4secret4d4b',
      'https://oapi.dingtalk.com/robot/sendBySession?session=***',
    ],
    [
      'a Stream endpoint with its ticket',
      'wss://wss-open-connection.dingtalk.com:443/connect?ticket=abc-123&x=1',
      'wss://wss-open-connection.dingtalk.com/connect?ticket=***&x=***',
    ],
    [
      'a signed download URL',
      'https://down.example.test/f/a.png?Expires=1&OSSAccessKeyId=AK&Signature=sig%2B%2F',
      'https://down.example.test/f/a.png?Expires=***&OSSAccessKeyId=***&Signature=***',
    ],
    ['a repeated key once', 'https://x.test/p?a=1&a=2&b=3', 'https://x.test/p?a=***&b=***'],
    ['a key without value', 'https://x.test/p?flag', 'https://x.test/p?flag=***'],
    ['no query', 'https://x.test/path/to', 'https://x.test/path/to'],
    ['an empty query', 'https://x.test/p?', 'https://x.test/p'],
    ['a non-default port', 'http://127.0.0.1:8080/hook?session=s', 'http://127.0.0.1:8080/hook?session=***'],
    ['userinfo', 'https://user:pass@x.test/p?q=1', 'https://x.test/p?q=***'],
    ['a fragment', 'https://x.test/p?a=1#token=abc', 'https://x.test/p?a=***'],
    ['an encoded key', 'https://x.test/p?a%20b=1', 'https://x.test/p?a%20b=***'],
  ])('masks %s', (_name, input, expected) => {
    expect(maskUrl(input)).toBe(expected);
  });

  it.each([
    [
      'a custom scheme',
      'redis://user:pw@cache.internal:6379/0?password=pw',
      'redis://cache.internal:6379/0?password=***',
    ],
  ])('keeps scheme and host of %s', (_name, input, expected) => {
    expect(maskUrl(input)).toBe(expected);
  });

  it.each([
    ['a relative URL', '/robot/sendBySession?session=secret'],
    ['plain text', 'not a url secret'],
    ['an empty string', ''],
    ['a bare host', 'oapi.dingtalk.com/robot?session=secret'],
  ])('masks %s entirely', (_name, input) => {
    expect(maskUrl(input)).toBe(REDACTED);
  });

  it('never returns a query value, userinfo or fragment', () => {
    const secrets = ['S1', 'S2', 'U1', 'P1', 'F1'];
    const masked = maskUrl('https://U1:P1@x.test/a?one=S1&two=S2#F1');
    for (const secret of secrets) expect(masked).not.toContain(secret);
  });
});

describe('maskUrlsInText', () => {
  it.each([
    [
      'a URL with a query inside a sentence',
      'post to https://x.test/hook?session=abc failed',
      'post to https://x.test/hook?session=*** failed',
    ],
    ['several URLs', 'a wss://h/c?ticket=1 b http://u:p@h2/p', 'a wss://h/c?ticket=*** b http://h2/p'],
    [
      'a URL without query (kept)',
      'GET https://api.dingtalk.com/v1.0/x done',
      'GET https://api.dingtalk.com/v1.0/x done',
    ],
    ['a quoted URL', 'Invalid URL: "wss://h/c?ticket=T"', 'Invalid URL: "wss://h/c?ticket=***"'],
    ['an unparsable URL with a query (masked whole)', 'at http://[bad/?s=1 end', 'at *** end'],
    ['text without URLs', 'nothing here?', 'nothing here?'],
  ])('handles %s', (_name, input, expected) => {
    expect(maskUrlsInText(input)).toBe(expected);
  });
});

describe('scrubForLog', () => {
  it('returns the same object when nothing needs masking', () => {
    const value = { a: 'plain', b: [1, 'https://x.test/p'], c: { d: true } };
    expect(scrubForLog(value)).toBe(value);
  });

  it('turns URL objects into masked strings', () => {
    expect(scrubForLog({ url: new URL('wss://h.test/c?ticket=T') })).toEqual({
      url: 'wss://h.test/c?ticket=***',
    });
  });

  it('copies only what changed and leaves errors to their serializer', () => {
    const error = new Error('https://x.test/?k=v');
    const value = { a: { url: 'https://x.test/?k=v' }, keep: { n: 1 }, err: error };
    const masked = scrubForLog(value);
    expect(masked).not.toBe(value);
    expect(masked.a.url).toBe('https://x.test/?k=***');
    expect(masked.keep).toBe(value.keep);
    expect(masked.err).toBe(error);
    expect(value.a.url).toBe('https://x.test/?k=v');
  });
});

describe('scrubForLog secrets', () => {
  it('censors every key the config marks as secret', () => {
    expect(CONFIG_SECRET_KEYS.filter((key) => !isSecretKey(key))).toEqual([]);
  });

  it('censors secret keys at any depth and in any case, leaving the input untouched', () => {
    const value = {
      Authorization: 'Bearer A1',
      list: [{ sessionWebhook: 'https://x.test/h?session=S1' }],
      config: { channels: { dingtalk: { accounts: { main: { clientSecret: 'C1', clientId: 'id' } } } } },
    };
    expect(scrubForLog(value)).toEqual({
      Authorization: REDACTED,
      list: [{ sessionWebhook: REDACTED }],
      config: { channels: { dingtalk: { accounts: { main: { clientSecret: REDACTED, clientId: 'id' } } } } },
    });
    expect(value.Authorization).toBe('Bearer A1');
    expect(value.config.channels.dingtalk.accounts.main.clientSecret).toBe('C1');
  });

  it('leaves an absent secret absent', () => {
    const value = { token: undefined, ticket: null, other: 'x' };
    expect(scrubForLog(value)).toBe(value);
  });
});
