import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors.js';
import { loadConfig } from './load.js';
import { MASK, maskSecrets } from './mask.js';

const BASE_ENV = { DINGTALK_CLIENT_ID: 'ding-app-1', DINGTALK_CLIENT_SECRET: 'secret-value' } as const;
const REDIS_URL = 'redis://:p4ss@redis.internal:6379/2';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function load(document: object | undefined, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'gw-redis-config-'));
  dirs.push(cwd);
  if (document !== undefined) writeFileSync(join(cwd, 'gw.json5'), JSON.stringify(document));
  return loadConfig({
    configPath: document === undefined ? undefined : 'gw.json5',
    env: { ...BASE_ENV, ...env },
    cwd,
  });
}

describe('state.redisUrl and state.redisKeyPrefix', () => {
  it('keep SQLite by default, with the default key prefix', () => {
    const { state } = load(undefined);
    expect(state.redisUrl).toBeUndefined();
    expect(state.redisKeyPrefix).toBe('dtgw:');
  });

  it('take REDIS_URL from the environment over the file', () => {
    const { state } = load(
      { state: { redisUrl: 'redis://file:6379', redisKeyPrefix: 'bot-a:' } },
      { REDIS_URL },
    );
    expect(state.redisUrl).toBe(REDIS_URL);
    expect(state.redisKeyPrefix).toBe('bot-a:');
  });

  it('ignore an empty REDIS_URL, as compose files set it', () => {
    expect(load(undefined, { REDIS_URL: '' }).state.redisUrl).toBeUndefined();
  });

  it.each([
    ['an http URL', { redisUrl: 'http://redis:6379' }, 'state.redisUrl'],
    ['a host without scheme', { redisUrl: 'redis:6379' }, 'state.redisUrl'],
    ['an empty prefix', { redisKeyPrefix: '' }, 'state.redisKeyPrefix'],
  ])('reject %s', (_name, state, path) => {
    expect(() => load({ state })).toThrow(ConfigError);
    expect(() => load({ state })).toThrow(path);
  });

  it('accept rediss:// (TLS)', () => {
    expect(load({ state: { redisUrl: 'rediss://redis.example:6380' } }).state.redisUrl).toBe(
      'rediss://redis.example:6380',
    );
  });

  it('mask the URL (it may carry a password) in check-config output', () => {
    const config = load(undefined, { REDIS_URL });
    const printed = JSON.stringify(maskSecrets(config.document));
    expect(printed).not.toContain('p4ss');
    expect((maskSecrets(config.document) as { state: { redisUrl: string } }).state.redisUrl).toBe(MASK);
  });
});
