import { SECRET_KEYS } from './schema.js';

const SECRET_KEY_SET = new Set<string>(SECRET_KEYS);

/** Placeholder printed instead of a secret value. */
export const MASK = '***';

/**
 * A copy of `value` with every secret-named key replaced by `***`, at any depth. Used by
 * `check-config`; logs censor these keys and a few more (`log/redact.ts`, a test keeps them in step).
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    result[key] = SECRET_KEY_SET.has(key) && child !== undefined ? MASK : maskSecrets(child);
  }
  return result;
}
