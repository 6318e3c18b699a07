import { z } from 'zod';

import type { StreamSubscription } from '../../config/types.js';
import { DingTalkApiError, DingTalkAuthError } from '../../errors.js';
import type { DingTalkHttp } from './http-client.js';

/** Short client tag sent as `ua` on connections/open (the protocol asks for ASCII `name/version`). */
export const STREAM_USER_AGENT = 'openclaw-dingtalk-gateway/0.1';

const OpenAnswer = z.looseObject({
  endpoint: z.string().regex(/^wss?:\/\//i, 'endpoint must be a ws(s) URL'),
  ticket: z.string().min(1),
});

export interface OpenStreamRequest {
  readonly apiBase: string;
  readonly openPath: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly subscriptions: readonly StreamSubscription[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Registers a Stream connection (`POST {apiBase}{openPath}`) and returns the WebSocket URL with its
 * single-use ticket. Throws {@link DingTalkAuthError} (fatal) on 401/403, a retryable
 * {@link DingTalkApiError} or `DingTalkTransportError` on anything else.
 */
export async function openStreamConnection(http: DingTalkHttp, request: OpenStreamRequest): Promise<string> {
  let answer: unknown;
  try {
    answer = await http.postJson(
      `${request.apiBase}${request.openPath}`,
      {
        clientId: request.clientId,
        clientSecret: request.clientSecret,
        subscriptions: request.subscriptions,
        ua: STREAM_USER_AGENT,
      },
      {
        endpoint: 'connections/open',
        timeoutMs: request.timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
      },
    );
  } catch (error) {
    if (error instanceof DingTalkApiError && (error.status === 401 || error.status === 403)) {
      throw new DingTalkAuthError(error.status, error.apiCode);
    }
    throw error;
  }
  const parsed = OpenAnswer.safeParse(answer);
  if (!parsed.success) {
    throw new DingTalkApiError({
      endpoint: 'connections/open',
      status: 200,
      apiMessage: 'answer has no usable endpoint/ticket',
      body: '',
      retryable: true,
    });
  }
  const separator = parsed.data.endpoint.includes('?') ? '&' : '?';
  return `${parsed.data.endpoint}${separator}ticket=${encodeURIComponent(parsed.data.ticket)}`;
}
