import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { loadConfig } from '../../src/config/load.js';
import { ConfigFileSchema } from '../../src/config/schema.js';
import { ENV_KEYS } from '../../src/config/env-overlay.js';
import { REPO_ROOT } from '../helpers/gateway-process.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const example = readFileSync(join(REPO_ROOT, 'config.example.json5'), 'utf8');

/** Every leaf key path of the config schema, e.g. `channels.dingtalk.connection.openTimeoutMs`. */
function schemaKeyPaths(schema: z.ZodType, prefix: string): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional || inner instanceof z.ZodPipe) {
    inner = inner instanceof z.ZodPipe ? (inner.in as z.ZodType) : (inner.unwrap() as z.ZodType);
  }
  if (!(inner instanceof z.ZodObject)) return [prefix];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
    key === 'accounts'
      ? [`${prefix}.accounts.<id>.*`]
      : schemaKeyPaths(child, prefix === '' ? key : `${prefix}.${key}`),
  );
}

const KEY_PATHS = schemaKeyPaths(ConfigFileSchema, '');

describe('documentation of the configuration', () => {
  it('finds the schema keys (sanity check of the walker)', () => {
    expect(KEY_PATHS).toContain('channels.dingtalk.connection.drainTimeoutMs');
    expect(KEY_PATHS).toContain('openclaw.tokenFile');
    expect(KEY_PATHS.length).toBeGreaterThan(40);
  });

  it.each(KEY_PATHS)('README and config.example.json5 both document %s', (path) => {
    const leaf = path.endsWith('.*') ? 'accounts' : path.split('.').at(-1)!;
    const channelPrefix = 'channels.dingtalk.';
    const readmeKey = path.startsWith(channelPrefix) ? `…${path.slice(channelPrefix.length)}` : path;
    expect(readme).toContain(`\`${readmeKey}\``);
    expect(example).toMatch(new RegExp(`\\b${leaf}:`));
  });

  it.each(Object.keys(ENV_KEYS))('README documents the environment variable %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  it('config.example.json5 is itself a valid configuration', () => {
    const config = loadConfig({
      configPath: join(REPO_ROOT, 'config.example.json5'),
      env: { DINGTALK_CLIENT_ID: 'id', DINGTALK_CLIENT_SECRET: 'secret' },
      cwd: REPO_ROOT,
    });
    expect(config.accounts.map((account) => account.id)).toEqual(['default']);
    expect(config.server.port).toBe(8080);
  });
});
