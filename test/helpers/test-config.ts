import type { FakeDingTalk } from '../fakes/fake-dingtalk.js';
import { FAKE_OPENCLAW_TOKEN, type FakeOpenClaw } from '../fakes/fake-openclaw.js';

/** Short timings so reconnect and heartbeat paths run in milliseconds (STYLE.md T3). */
export const FAST_CONNECTION = {
  openTimeoutMs: 2_000,
  heartbeatIntervalMs: 200,
  heartbeatTimeoutMs: 1_500,
  reconnectInitialDelayMs: 50,
  reconnectMaxDelayMs: 400,
  stableAfterMs: 1_000,
  drainTimeoutMs: 1_500,
} as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `override` into `base` key by key (arrays and scalars replace). */
export function deepMerge(base: Json, override: Json): Json {
  const result: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = result[key];
    result[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return result;
}

/** A config pointing the gateway at both fakes, with fast timings; `override` is deep-merged. */
export function testConfig(
  dingtalk: FakeDingTalk,
  openclaw: FakeOpenClaw | string,
  override: Json = {},
): Json {
  const base: Json = {
    server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2_000 },
    openclaw: {
      baseUrl: typeof openclaw === 'string' ? openclaw : openclaw.baseUrl,
      token: FAKE_OPENCLAW_TOKEN,
      timeoutMs: 5_000,
      connectTimeoutMs: 1_000,
    },
    log: { level: 'debug' },
    channels: {
      dingtalk: {
        clientId: dingtalk.options.clientId,
        clientSecret: dingtalk.options.clientSecret,
        apiBase: dingtalk.baseUrl,
        oapiBase: dingtalk.baseUrl,
        connection: FAST_CONNECTION,
      },
    },
  };
  return deepMerge(base, override);
}
