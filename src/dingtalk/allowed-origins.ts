import { UrlRefusedError } from '../errors.js';

/** Origins (`scheme://host:port`) of the configured DingTalk bases. */
export function originsOf(bases: readonly string[]): string[] {
  return [...new Set(bases.map((base) => new URL(base).origin))];
}

/**
 * Checks that a URL handed over in a message (a session webhook) points at one of the configured
 * DingTalk origins; a forged or redirected URL would otherwise receive the reply text. Returns the
 * parsed URL; throws {@link UrlRefusedError}.
 */
export function assertAllowedOrigin(url: string, allowedOrigins: readonly string[], what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UrlRefusedError(what, 'unparsable URL');
  }
  if (!allowedOrigins.includes(parsed.origin)) throw new UrlRefusedError(what, parsed.origin);
  return parsed;
}
