import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import JSON5 from 'json5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fuzzParams } from '../../test/helpers/fast-check.js';
import { ConfigError } from '../errors.js';
import { ENV_KEYS } from './env-overlay.js';
import { loadConfig } from './load.js';

/**
 * Arbitrary JSON5 documents (valid configurations with keys dropped, retyped, misspelled or added,
 * special keys like `__proto__`, broken syntax) and environments: loadConfig either returns a
 * configuration or throws a ConfigError whose every line is `path: message`, and a secret never
 * shows up in it.
 */

const SECRET = 'Zq9-secret-marker-Zq9';

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-config-fuzz-'));
  writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const VALID = {
  server: { host: '127.0.0.1', port: 8080, shutdownGraceMs: 20_000 },
  openclaw: { baseUrl: 'http://127.0.0.1:18789', token: SECRET, agentId: 'main', timeoutMs: 600_000 },
  state: { dir: './state', dedupeTtlMs: 600_000 },
  delivery: { maxMessageAgeMs: 900_000, rateLimitMessages: 20, sendAttempts: 4 },
  media: { maxInboundFiles: 8, allowRemoteUrls: false },
  log: { level: 'info' },
  channels: {
    dingtalk: {
      clientId: 'ding-app',
      clientSecret: SECRET,
      replyMode: 'markdown',
      maxChars: 1800,
      allowFrom: ['staff-1'],
      apiBase: 'https://api.dingtalk.com',
      mediaRoots: ['/data'],
      subscriptionsJson: '[{"type":"CALLBACK","topic":"/v1.0/im/bot/messages/get"}]',
      connection: { openTimeoutMs: 10_000, reconnectMaxDelayMs: 60_000 },
      accounts: { sales: { clientId: 'ding-sales', clientSecretFile: 'secret.txt', replyMode: 'text' } },
    },
  },
};

type Json = Record<string, unknown>;

/** Every object path of the valid document (where mutations aim). */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, child]) => paths(child, [...prefix, key]))];
}

const PATHS = paths(VALID).filter((path) => path.length > 0);

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, Number.POSITIVE_INFINITY, Number.NaN, '', ' ', SECRET),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'http://',
    'ftp://x',
    '/v1',
    '[]',
    '[{"type":1}]',
    'x'.repeat(5_000),
  ),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
);

const strangeKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'default',
    'hasOwnProperty',
    'a.b',
    'a\nb',
  ),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

type Mutation =
  | { op: 'drop'; path: string[] }
  | { op: 'replace'; path: string[]; value: unknown }
  | { op: 'add'; path: string[]; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), path: fc.constantFrom(...PATHS) }),
  fc.record({ op: fc.constant('replace' as const), path: fc.constantFrom(...PATHS), value: junk }),
  fc.record({
    op: fc.constant('add' as const),
    path: fc.constantFrom([], ...PATHS),
    key: strangeKey,
    value: fc.oneof(junk, fc.constant({})),
  }),
);

function mutate(document: Json, change: Mutation): void {
  const keys = change.op === 'add' ? change.path : change.path.slice(0, -1);
  let target: unknown = document;
  for (const key of keys) {
    if (typeof target !== 'object' || target === null) return;
    target = (target as Json)[key];
  }
  if (typeof target !== 'object' || target === null) return;
  const record = target as Json;
  const leaf = change.path.at(-1) ?? '';
  if (change.op === 'drop') Reflect.deleteProperty(record, leaf);
  else if (change.op === 'replace') record[leaf] = change.value;
  else
    Object.defineProperty(record, change.key, {
      value: change.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

/** How the document is written: JSON5, JSON, or text with a cut or splice. */
const documentText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.array(mutation, { maxLength: 4 }), fc.boolean()).map(([mutations, asJson5]) => {
      const document = structuredClone(VALID) as Json;
      for (const change of mutations) mutate(document, change);
      return asJson5 ? JSON5.stringify(document, null, 2) : JSON.stringify(document);
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat({ max: 1_500 }), fc.string({ unit: 'binary', maxLength: 5 }))
      .map(([at, insert]) => {
        const text = JSON5.stringify(VALID, null, 2);
        return `${text.slice(0, at)}${insert}${text.slice(at + insert.length)}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .anything({ maxDepth: 3 })
      .map((value) => (JSON5.stringify(value) as string | undefined) ?? 'undefined'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);

const environment: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(...Object.keys(ENV_KEYS)),
  fc.oneof(
    fc.constantFrom('', ' ', '0', '65536', 'abc', 'a,b', '/x', 'http://h', 'debug', SECRET),
    fc.string({ maxLength: 8 }),
  ),
  { maxKeys: 3 },
);

// A key path, optionally with the environment variable that set it: no line breaks, never empty.
const ISSUE_LINE = /^ {2}- ([^\n]+?): ([^\n]+)$/;

/** Loads the document; returns what is wrong with the outcome (an empty list when it is fine). */
function outcomeViolations(text: string, env: Record<string, string>): string[] {
  writeFileSync(join(dir, 'config.json5'), text);
  let error: unknown;
  try {
    loadConfig({ configPath: join(dir, 'config.json5'), env, cwd: dir });
    return [];
  } catch (caught) {
    error = caught;
  }
  if (!(error instanceof ConfigError)) return [`threw ${String(error)} instead of a ConfigError`];
  const problems: string[] = [];
  const [head, ...lines] = error.message.split('\n');
  if (head !== 'invalid configuration:') problems.push(`first line ${JSON.stringify(head)}`);
  if (lines.length !== error.issues.length || lines.length === 0)
    problems.push('one line per issue expected');
  for (const [index, line] of lines.entries()) {
    const match = ISSUE_LINE.exec(line);
    const issue = error.issues[index];
    if (match === null || issue === undefined)
      problems.push(`line ${JSON.stringify(line)} is not "path: message"`);
    else if (match[1] !== issue.path && !line.startsWith(`  - ${issue.path}: `))
      problems.push(`line ${line} does not start with its path`);
  }
  for (const issue of error.issues) {
    if (issue.path.trim() === '' || issue.message.trim() === '')
      problems.push(`empty path or message: ${JSON.stringify(issue)}`);
  }
  if (error.message.includes(SECRET) || JSON.stringify(error.issues).includes(SECRET))
    problems.push('secret in the error');
  return problems;
}

describe('loadConfig (property)', () => {
  it('returns a configuration or a ConfigError with one "path: message" line per issue, never a secret', () => {
    let failures = 0;
    fc.assert(
      fc.property(documentText, environment, (text, env) => {
        const problems = outcomeViolations(text, env);
        failures += problems.length;
        expect(problems.map((problem) => `${problem} in ${text.slice(0, 300)}`)).toEqual([]);
      }),
      // Found by this property: an unknown key with a line break split the error output.
      { ...fuzzParams<[string, Record<string, string>]>(400), examples: [['{"a\\nb": 1}', {}]] },
    );
    expect(failures).toBe(0);
  });
});
