/** Where the WebSocket gateway is, and whether OpenClaw will see us as a local client. */

/**
 * The WebSocket URL of a gateway given its HTTP base URL: same host, port and path, `http:` → `ws:`,
 * `https:` → `wss:` (OpenClaw serves both on one port).
 */
export function deriveWsUrl(httpBaseUrl: string): string {
  const url = new URL(httpBaseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href.replace(/\/$/, '');
}

/**
 * True when `url`'s host is a loopback address. OpenClaw lets a `gateway-client` backend on loopback
 * keep its scopes with the shared token alone; anywhere else it needs a paired device identity.
 */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
