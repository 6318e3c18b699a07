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

// Deeper structures are left as they are: log calls pass flat fields.
const MAX_MASK_DEPTH = 4;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * `value` with {@link maskUrlsInText} applied to every string in it (plain objects and arrays, a few
 * levels deep; `URL` objects become masked strings). Returns the same object when nothing changed;
 * never mutates its input. Errors and other class instances are left to their serializers.
 */
export function maskUrlsDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return maskUrlsInText(value) as T;
  // A URL object would be logged as its full href (toJSON).
  if (value instanceof URL) return maskUrl(value.href) as T;
  if (depth >= MAX_MASK_DEPTH) return value;
  if (Array.isArray(value)) {
    const masked = value.map((item: unknown) => maskUrlsDeep(item, depth + 1));
    return masked.some((item, index) => item !== value[index]) ? (masked as T) : value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, child] of Object.entries(value)) {
    const masked = maskUrlsDeep(child, depth + 1);
    if (masked === child) continue;
    copy ??= { ...value };
    copy[key] = masked;
  }
  return (copy ?? value) as T;
}

/**
 * Object paths pino must censor. A pino `*` matches exactly one level, so every depth at which a
 * secret can appear is listed (see STYLE.md G5); log calls should not pass secrets in the first place.
 */
export const REDACT_PATHS: readonly string[] = [
  'clientSecret',
  'appSecret',
  'token',
  'accessToken',
  'ticket',
  'authorization',
  'sessionWebhook',
  'webhookUrl',
  'downloadUrl',
  'sendApiToken',
  '*.clientSecret',
  '*.appSecret',
  '*.token',
  '*.accessToken',
  '*.ticket',
  '*.authorization',
  '*.sessionWebhook',
  '*.webhookUrl',
  '*.downloadUrl',
  '*.sendApiToken',
  '*.*.clientSecret',
  '*.*.token',
  '*.*.sessionWebhook',
  'headers.authorization',
  'headers["x-acs-dingtalk-access-token"]',
  'req.headers.authorization',
  'config.openclaw.token',
  'config.server.sendApiToken',
  'config.channels.dingtalk.clientSecret',
  'config.channels.dingtalk.accounts.*.clientSecret',
];
