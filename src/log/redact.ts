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
  '*.clientSecret',
  '*.appSecret',
  '*.token',
  '*.accessToken',
  '*.ticket',
  '*.authorization',
  '*.sessionWebhook',
  '*.webhookUrl',
  '*.downloadUrl',
  '*.*.clientSecret',
  '*.*.token',
  '*.*.sessionWebhook',
  'headers.authorization',
  'headers["x-acs-dingtalk-access-token"]',
  'req.headers.authorization',
  'config.openclaw.token',
  'config.channels.dingtalk.clientSecret',
  'config.channels.dingtalk.accounts.*.clientSecret',
];
