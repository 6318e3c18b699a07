/** Placeholder written instead of a secret. */
export const REDACTED = '***';

/**
 * Returns `url` with every query value replaced by `***` (session webhooks carry their credential in
 * `?session=`, signed download URLs in `Signature=`, WebSocket endpoints in `?ticket=`). Unparsable
 * input is masked entirely.
 */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  const keys = [...new Set(parsed.searchParams.keys())];
  const query = keys.map((key) => `${encodeURIComponent(key)}=${REDACTED}`).join('&');
  parsed.username = '';
  parsed.password = '';
  // `origin` is "null" for non-special schemes (redis:, custom), so rebuild it from its parts.
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query === '' ? '' : `?${query}`}`;
}

/** An absolute URL inside free text: a scheme, `://`, then up to whitespace, a quote or a bracket. */
const URL_IN_TEXT = /\b[a-z][a-z\d+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * `text` with every URL that carries a query or user info masked by {@link maskUrl} (error messages
 * from libraries sometimes quote the URL they were given, ticket or session included).
 */
export function maskUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (url) => (/[?@]/.test(url) ? maskUrl(url) : url));
}

/**
 * Keys whose values are secrets, compared lower-cased, at any depth of a logged object. Matching by
 * key rather than by pino redact path catches a secret wherever a log call nests it, and costs nothing
 * for objects without one (pino's wildcard paths ran on every child logger's bindings: BENCHMARKS.md).
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'clientsecret',
  'appsecret',
  'token',
  'accesstoken',
  'ticket',
  'authorization',
  'sessionwebhook',
  'webhookurl',
  'downloadurl',
  'sendapitoken',
  'redisurl',
  'x-acs-dingtalk-access-token',
]);

/** Whether a field of this name holds a secret ({@link SECRET_KEYS}). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

// Deeper structures are left as they are: log calls pass flat fields (the deepest secret the config
// holds, config.channels.dingtalk.accounts.<id>.clientSecret, is six levels down).
const MAX_SCRUB_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * `value` ready to be logged: the value of every {@link SECRET_KEYS} key replaced by `***`, and
 * {@link maskUrlsInText} applied to every other string (plain objects and arrays; `URL` objects become
 * masked strings). Returns the same object when nothing changed; never mutates its input. Errors and
 * other class instances are left to their serializers.
 */
export function scrubForLog<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return maskUrlsInText(value) as T;
  // A URL object would be logged as its full href (toJSON).
  if (value instanceof URL) return maskUrl(value.href) as T;
  if (depth >= MAX_SCRUB_DEPTH) return value;
  if (Array.isArray(value)) {
    const scrubbed = value.map((item: unknown) => scrubForLog(item, depth + 1));
    return scrubbed.some((item, index) => item !== value[index]) ? (scrubbed as T) : value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child = value[key];
    const scrubbed =
      isSecretKey(key) && child !== undefined && child !== null ? REDACTED : scrubForLog(child, depth + 1);
    if (scrubbed === child) continue;
    copy ??= { ...value };
    copy[key] = scrubbed;
  }
  return (copy ?? value) as T;
}
