/**
 * True for the error of a request sent on a kept-alive connection the server closed at the same
 * moment (`UND_ERR_SOCKET` "other side closed", `ECONNRESET`) before any response byte.
 */
export function isStaleConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}
