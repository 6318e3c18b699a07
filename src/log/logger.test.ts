import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createLogger } from './logger.js';
import { REDACTED, SECRET_KEYS } from './redact.js';

/** A destination stream that keeps every JSON line pino writes. */
class LineCollector extends Writable {
  readonly lines: string[] = [];

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.lines.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((line) => line !== ''),
    );
    callback();
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

function setup() {
  const destination = new LineCollector();
  const logger = createLogger({ level: 'trace', version: '9.9.9-test', destination });
  return { logger, destination };
}

/** `a.*.b["c-d"]` → ['a', 'any', 'b', 'c-d'] (every `*` filled with a concrete key). */
function pathKeys(path: string): string[] {
  return [...path.matchAll(/([^.[\]"]+)|\["([^"]+)"\]/g)].map((match) => {
    const key = match[2] ?? match[1] ?? '';
    return key === '*' ? 'anyKey' : key;
  });
}

function nest(keys: readonly string[], leaf: unknown): Record<string, unknown> {
  return keys.reduceRight<unknown>((inner, key) => ({ [key]: inner }), leaf) as Record<string, unknown>;
}

function valueAt(record: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], record);
}

describe('createLogger', () => {
  it('writes JSON lines with service, version, ISO time and the message', () => {
    const { logger, destination } = setup();
    logger.info({ component: 'bridge' }, 'hello');
    const [record] = destination.records();
    expect(record).toMatchObject({
      level: 30,
      service: 'openclaw-dingtalk-gateway',
      version: '9.9.9-test',
      component: 'bridge',
      msg: 'hello',
    });
    expect(new Date(record?.['time'] as string).toISOString()).toBe(record?.['time']);
  });

  it('honours the level', () => {
    const destination = new LineCollector();
    const logger = createLogger({ level: 'warn', version: '1', destination });
    logger.info('dropped');
    logger.debug('dropped');
    logger.warn('kept');
    expect(destination.records().map((record) => record['msg'])).toEqual(['kept']);
  });

  it('serializes errors under err with their cause', () => {
    const { logger, destination } = setup();
    logger.error({ err: new Error('outer', { cause: new Error('inner') }) }, 'failed');
    const err = destination.records()[0]?.['err'] as {
      type: string;
      message: string;
      stack: string;
      cause?: unknown;
    };
    expect(err).toMatchObject({
      type: 'Error',
      message: 'outer',
      cause: { type: 'Error', message: 'inner' },
    });
    expect(err.stack).toContain('Error: outer');
  });

  it.each([...SECRET_KEYS].flatMap((key) => [[key], [`*.${key}`], [`*.*.${key}`], [`a.*.b.*.c.${key}`]]))(
    'censors %s',
    (path) => {
      const { logger, destination } = setup();
      const keys = pathKeys(path);
      const secret = `secret-for-${keys.join('-')}`;
      logger.trace(nest(keys, secret), 'with secret');
      const [line] = destination.lines;
      expect(line).toBeDefined();
      expect(line).not.toContain(secret);
      expect(valueAt(JSON.parse(line!), keys)).toBe(REDACTED);
    },
  );

  it.each([
    ['clientSecret'],
    ['config.channels.dingtalk.accounts.x.clientSecret'],
    ['config.channels.dingtalk.clientSecret'],
    ['config.openclaw.token'],
    ['config.dingtalk.clientSecret'],
    ['account.clientSecret'],
    ['headers.authorization'],
    ['req.headers.authorization'],
    ['headers.x-acs-dingtalk-access-token'],
    ['sessionWebhook'],
    ['message.sessionWebhook'],
    ['a.token'],
    ['a.b.token'],
    ['token'],
    ['ticket'],
    ['reply.webhookUrl'],
    ['media.downloadUrl'],
    ['auth.accessToken'],
    ['req.headers.Authorization'],
    ['a.appSecret'],
    ['config.server.sendApiToken'],
  ])('censors a secret placed at %s, at every level from trace to fatal', (path) => {
    const { logger, destination } = setup();
    const keys = path.split('.');
    const secret = 'SECRET-VALUE-1234';
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)
      logger[level](nest(keys, secret), level);
    expect(destination.lines).toHaveLength(6);
    for (const line of destination.lines) {
      expect(line).not.toContain(secret);
      expect(valueAt(JSON.parse(line), keys)).toBe(REDACTED);
    }
  });

  it('censors secrets in child logger calls and keeps the other fields', () => {
    const { logger, destination } = setup();
    logger
      .child({ component: 'dingtalk.api' })
      .info({ endpoint: 'connections/open', clientSecret: 'S', nested: { token: 'T' } }, 'call');
    expect(destination.records()[0]).toMatchObject({
      component: 'dingtalk.api',
      endpoint: 'connections/open',
      clientSecret: REDACTED,
      nested: { token: REDACTED },
    });
  });

  it('censors secrets in child logger bindings, at any level of a child of a child', () => {
    const { logger, destination } = setup();
    logger
      .child({ component: 'x', token: 'BINDING-T1' })
      .child({ messageId: 'm1', account: { clientSecret: 'BINDING-S2' } })
      .info('call');
    const [line] = destination.lines;
    expect(line).not.toContain('BINDING-T1');
    expect(line).not.toContain('BINDING-S2');
    expect(destination.records()[0]).toMatchObject({
      component: 'x',
      messageId: 'm1',
      token: REDACTED,
      account: { clientSecret: REDACTED },
    });
  });

  it('censors secret-named fields an error carries, in its causes too', () => {
    const { logger, destination } = setup();
    const cause = Object.assign(new Error('inner'), { accessToken: 'ERR-T2' });
    const error = Object.assign(new Error('outer', { cause }), {
      code: 'E_X',
      headers: { authorization: 'Bearer ERR-T1' },
    });
    logger.error({ err: error }, 'failed');
    const [line] = destination.lines;
    expect(line).not.toContain('ERR-T1');
    expect(line).not.toContain('ERR-T2');
    expect(destination.records()[0]?.['err']).toMatchObject({
      message: 'outer',
      code: 'E_X',
      headers: { authorization: REDACTED },
      cause: { message: 'inner', accessToken: REDACTED },
    });
  });

  it('strips the query of URLs in logged strings and in errors, causes included', () => {
    const { logger, destination } = setup();
    const error = new Error('Invalid URL: wss://wss.example.test/connect?ticket=TICKET-1', {
      cause: new Error('POST https://user:pw@oapi.example.test/robot/send?session=SESSION-2 failed'),
    });
    logger.warn(
      {
        err: error,
        error: 'connections/open failed: wss://h.example.test/?ticket=TICKET-3 (refused)',
        nested: { list: ['https://x.example.test/f.png?Signature=SIG-4'] },
        plain: 'https://api.example.test/v1.0/robot/oToMessages/batchSend',
      },
      'failed',
    );
    const [line] = destination.lines;
    for (const secret of ['TICKET-1', 'SESSION-2', 'user:pw', 'TICKET-3', 'SIG-4'])
      expect(line).not.toContain(secret);
    const record = destination.records()[0]!;
    expect(record['error']).toBe('connections/open failed: wss://h.example.test/?ticket=*** (refused)');
    expect(record['nested']).toEqual({ list: ['https://x.example.test/f.png?Signature=***'] });
    expect(record['plain']).toBe('https://api.example.test/v1.0/robot/oToMessages/batchSend');
    expect((record['err'] as { message: string }).message).toBe(
      'Invalid URL: wss://wss.example.test/connect?ticket=***',
    );
  });

  it('does not alter a logged object that holds URLs', () => {
    const { logger } = setup();
    const payload = { detail: 'see https://x.test/p?session=S', deeper: { url: 'https://x.test/?a=1' } };
    logger.info(payload, 'x');
    expect(payload).toEqual({
      detail: 'see https://x.test/p?session=S',
      deeper: { url: 'https://x.test/?a=1' },
    });
  });

  it('prints human-readable lines when asked to (a terminal), still censored', () => {
    const destination = new LineCollector();
    const logger = createLogger({ level: 'info', version: '1', destination, pretty: true });
    logger.info(
      { component: 'bridge', token: 'T0KEN', hook: 'https://x.test/h?session=S355' },
      'hello there',
    );
    logger.flush();
    const text = destination.lines.join('\n');
    expect(text).toMatch(/INFO.*hello there/);
    expect(text).toContain('component: "bridge"');
    expect(() => JSON.parse(destination.lines[0]!) as unknown).toThrow();
    expect(text).not.toContain('T0KEN');
    expect(text).not.toContain('S355');
    // Plain text for an injected destination: no ANSI colour codes.
    expect(text).not.toContain('\u001b[');
  });

  it('writes JSON lines when told it is not a terminal', () => {
    const destination = new LineCollector();
    createLogger({ level: 'info', version: '1', destination, pretty: false }).info('json');
    expect(destination.records()[0]).toMatchObject({ msg: 'json' });
  });

  it('does not alter the logged object', () => {
    const { logger } = setup();
    const payload = { clientSecret: 'S', a: { token: 'T' } };
    logger.info(payload, 'x');
    expect(payload).toEqual({ clientSecret: 'S', a: { token: 'T' } });
  });
});
