import type { DingTalkHttp } from '../api/http-client.js';
import { assertAllowedOrigin } from '../allowed-origins.js';
import type { TextualMessage } from '../outgoing-message.js';

/** Endpoint name used in logs, errors and metrics (the URL itself carries a credential). */
export const SESSION_WEBHOOK_ENDPOINT = 'session-webhook';

/** The webhook body for one message (`msgtype` text or markdown). */
export function webhookBody(message: TextualMessage): Record<string, unknown> {
  return message.kind === 'markdown'
    ? { msgtype: 'markdown', markdown: { title: message.title, text: message.text } }
    : { msgtype: 'text', text: { content: message.text } };
}

/**
 * Posts one message to a conversation's session webhook. The URL must be on an allowed DingTalk
 * origin. Throws `UrlRefusedError`, `DingTalkApiError` (incl. errcode inside a 200, e.g. 300001
 * for an expired session) or `DingTalkTransportError`.
 */
export async function sendBySessionWebhook(
  http: DingTalkHttp,
  webhookUrl: string,
  message: TextualMessage,
  allowedOrigins: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const url = assertAllowedOrigin(webhookUrl, allowedOrigins, 'session webhook');
  await http.postJson(url, webhookBody(message), {
    endpoint: SESSION_WEBHOOK_ENDPOINT,
    ...(signal === undefined ? {} : { signal }),
  });
}
