/**
 * One request/response exchange on an open socket: the `req` frame written (or refused locally when
 * larger than the gateway's frame limit), its answer awaited and parsed with the caller's schema.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';

import { OpenClawRpcError, OpenClawUnavailableError, describeCause } from '../../errors.js';
import type { OpenSocket } from './connect-socket.js';
import type { RequestOptions } from './connection-options.js';
import type { RequestFrame, ResponseFrame } from './frames.js';
import type { PendingRequests } from './pending-requests.js';

/** One request of {@link sendRequest}. @internal */
export interface RequestExchange<T> {
  readonly open: OpenSocket;
  readonly pending: PendingRequests;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly schema: z.ZodType<T>;
  readonly options: RequestOptions;
  /** Deadline of the answer when `options.timeoutMs` is not set. */
  readonly defaultTimeoutMs: number;
  readonly log: Logger | undefined;
}

/**
 * Sends the request and returns its payload parsed with `schema`. Rejects with
 * {@link OpenClawUnavailableError} (write failed, connection lost, no answer in time),
 * {@link OpenClawRpcError} (`ok: false`, or a payload `schema` rejects) or the signal's reason.
 * @internal
 */
export async function sendRequest<T>(exchange: RequestExchange<T>): Promise<T> {
  const { open, pending: requests, method, options, log } = exchange;
  const pending = requests.open(method, options.timeoutMs ?? exchange.defaultTimeoutMs, options.signal);
  const frame: RequestFrame = { type: 'req', id: pending.id, method, params: exchange.params };
  const text = JSON.stringify(frame);
  const maxPayloadBytes = open.hello.policy.maxPayload;
  if (maxPayloadBytes !== undefined && Buffer.byteLength(text) > maxPayloadBytes) {
    requests.settle({ type: 'res', id: pending.id, ok: false, error: tooLarge(maxPayloadBytes) });
  } else {
    log?.debug({ method, requestId: pending.id }, 'openclaw request');
    open.socket.send(text, (error) => {
      // ws passes null (not undefined, whatever its types say) when the write succeeded.
      if (error instanceof Error) {
        requests.settle({
          type: 'res',
          id: pending.id,
          ok: false,
          error: { code: 'UNAVAILABLE', message: describeCause(error), retryable: true },
        });
      }
    });
  }
  let payload: unknown;
  try {
    payload = await pending.answer;
  } catch (error) {
    // A send that failed on the socket is a transport failure, not OpenClaw's answer.
    if (error instanceof OpenClawRpcError && error.rpcCode === 'UNAVAILABLE' && error.retryable) {
      throw new OpenClawUnavailableError(error);
    }
    throw error;
  }
  const parsed = exchange.schema.safeParse(payload);
  if (!parsed.success) {
    throw new OpenClawRpcError({
      method,
      rpcCode: 'MALFORMED_RESPONSE',
      message: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    });
  }
  return parsed.data;
}

function tooLarge(maxPayloadBytes: number): ResponseFrame['error'] {
  return {
    code: 'PAYLOAD_TOO_LARGE',
    message: `request larger than the gateway's ${maxPayloadBytes}-byte frame limit`,
  };
}
