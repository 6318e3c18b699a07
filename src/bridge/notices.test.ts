import { describe, expect, it } from 'vitest';

import {
  ConfigError,
  DingTalkApiError,
  DingTalkTransportError,
  OpenClawHttpError,
  OpenClawStreamError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../errors.js';
import { noticeFor, NOTICES } from './notices.js';

const http = (status: number) => new OpenClawHttpError({ status, body: '<html>bad gateway</html>' });

describe('noticeFor', () => {
  it.each<[string, unknown, string]>([
    ['401', http(401), NOTICES.auth],
    ['403', http(403), NOTICES.auth],
    ['429', http(429), NOTICES.busy],
    ['500', http(500), NOTICES.unavailable],
    ['502 (HTML body)', http(502), NOTICES.unavailable],
    ['503', http(503), NOTICES.unavailable],
    ['504', http(504), NOTICES.unavailable],
    ['400', http(400), NOTICES.failed],
    ['404', http(404), NOTICES.failed],
    ['422', http(422), NOTICES.failed],
    ['a timeout', new OpenClawTimeoutError(600_000), NOTICES.timeout],
    [
      'an unreachable gateway',
      new OpenClawUnavailableError(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ),
      NOTICES.unavailable,
    ],
    ['a stream error', new OpenClawStreamError('stream ended without [DONE]'), NOTICES.failed],
    [
      'a DingTalk API error',
      new DingTalkApiError({ endpoint: 'x', status: 500, body: '', retryable: true }),
      NOTICES.failed,
    ],
    ['a DingTalk transport error', new DingTalkTransportError('x', new Error('reset')), NOTICES.failed],
    ['a config error', new ConfigError([]), NOTICES.failed],
    ['a plain Error', new Error('boom'), NOTICES.failed],
    ['a thrown string', 'boom', NOTICES.failed],
    ['undefined', undefined, NOTICES.failed],
    ['null', null, NOTICES.failed],
  ])('maps %s without partial text', (_name, error, expected) => {
    expect(noticeFor(error, false)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['an HTTP 500', http(500)],
    ['a timeout', new OpenClawTimeoutError(1)],
    ['an unreachable gateway', new OpenClawUnavailableError(new Error('x'))],
    ['a plain error', new Error('x')],
  ])('says "interrupted" for %s once part of the reply was sent', (_name, error) => {
    expect(noticeFor(error, true)).toBe(NOTICES.interrupted);
  });

  it('every notice is bilingual, short and distinct, and leaks no detail', () => {
    const texts = Object.values(NOTICES);
    expect(new Set(texts).size).toBe(texts.length);
    for (const text of texts) {
      expect(text).toMatch(/[\u4e00-\u9fff]/);
      expect(text).toMatch(/\([A-Z][^)]*\)$/);
      expect(text.length).toBeLessThan(200);
      expect(text).not.toMatch(/http|token|stack/i);
    }
  });

  it('never echoes the error message or body to the user', () => {
    const error = new OpenClawHttpError({ status: 500, body: 'SECRET-BODY', apiMessage: 'SECRET-MESSAGE' });
    expect(noticeFor(error, false)).not.toMatch(/SECRET/);
  });
});
