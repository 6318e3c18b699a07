import type { ConfigIssue } from '../errors.js';

/** Environment variables the gateway reads, and the config key each one sets. */
export const ENV_KEYS = {
  DINGTALK_CLIENT_ID: ['channels', 'dingtalk', 'clientId'],
  DINGTALK_CLIENT_SECRET: ['channels', 'dingtalk', 'clientSecret'],
  DINGTALK_MEDIA_ROOTS: ['channels', 'dingtalk', 'mediaRoots'],
  OPENCLAW_BASE_URL: ['openclaw', 'baseUrl'],
  OPENCLAW_TOKEN: ['openclaw', 'token'],
  OPENCLAW_AGENT_ID: ['openclaw', 'agentId'],
  PORT: ['server', 'port'],
  GATEWAY_HOST: ['server', 'host'],
  GATEWAY_SEND_TOKEN: ['server', 'sendApiToken'],
  LOG_LEVEL: ['log', 'level'],
  REDIS_URL: ['state', 'redisUrl'],
} as const satisfies Record<string, readonly string[]>;

const NUMERIC_ENV_KEYS = new Set<string>(['PORT']);
// Comma-separated lists.
const LIST_ENV_KEYS = new Set<string>(['DINGTALK_MEDIA_ROOTS']);

type MutableRecord = Record<string, unknown>;

function isRecord(value: unknown): value is MutableRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Writes the known environment variables over the parsed config document (env wins over the file).
 * Empty variables are ignored, so `FOO=` in a compose file does not blank a configured value.
 * Returns the problems found (a non-numeric PORT, a section that is not an object).
 */
export function applyEnvOverlay(
  document: MutableRecord,
  env: Readonly<Record<string, string | undefined>>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    let value: unknown = raw.trim();
    if (NUMERIC_ENV_KEYS.has(name)) {
      if (!/^\d+$/.test(raw.trim())) {
        issues.push({ path: `${path.join('.')} (env ${name})`, message: 'must be an integer' });
        continue;
      }
      value = Number(raw.trim());
    } else if (LIST_ENV_KEYS.has(name)) {
      value = raw
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
    }
    const keys: readonly string[] = path;
    let target: MutableRecord | undefined = document;
    for (let depth = 0; depth < keys.length - 1 && target !== undefined; depth += 1) {
      const key = keys[depth] ?? '';
      const next: unknown = target[key] ?? {};
      if (!isRecord(next)) {
        issues.push({ path: keys.slice(0, depth + 1).join('.'), message: 'must be an object' });
        target = undefined;
      } else {
        target[key] = next;
        target = next;
      }
    }
    const leaf = keys.at(-1);
    if (target !== undefined && leaf !== undefined) target[leaf] = value;
  }
  return issues;
}
