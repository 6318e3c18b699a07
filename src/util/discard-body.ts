/** A response body that can be dropped: undici's `BodyReadable` and any Node stream. */
export interface DestroyableBody {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  destroy(): unknown;
}

/**
 * Drops a response body the caller does not want (too large, not needed). Destroying an undici body
 * aborts its request, which emits `UND_ERR_ABORTED` on the stream: with no listener that error
 * would escape as an uncaught exception and take the process down.
 */
export function discardBody(body: DestroyableBody): void {
  body.on('error', () => undefined);
  body.destroy();
}
