/**
 * Raw socket I/O shared by the handshake and the open connection: decoding an inbound frame and
 * closing a socket with a bounded wait.
 */
import WebSocket from 'ws';

import { InboundFrame } from './frames.js';

/** How long {@link closeSocket} waits for the close handshake before destroying the socket. */
const CLOSE_WAIT_MS = 1_000;

/** The frame in `data`, or `undefined` when it is not JSON or not a frame we know. @internal */
export function parseFrame(data: WebSocket.RawData): InboundFrame | undefined {
  let json: unknown;
  try {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = InboundFrame.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Closes `socket` with 1000 and resolves once it is closed, terminating it after
 * {@link CLOSE_WAIT_MS} without an answer. Never rejects. @internal
 */
export async function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, CLOSE_WAIT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1000, 'closing');
  });
}
