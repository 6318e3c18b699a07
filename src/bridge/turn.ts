import type { AccountConfig } from '../config/types.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { sendBySessionWebhook } from '../dingtalk/reply/session-webhook.js';
import { STREAM_RECONNECT_POLICY } from '../dingtalk/stream/backoff.js';
import { GatewayError, UrlRefusedError, describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ChatMessage, OpenClawChatClient } from '../openclaw/chat-client.js';
import { applyResponsePrefix, formatReply } from '../reply/format-reply.js';
import { withRetries } from '../util/retry.js';
import type { InboundMessage } from './inbound-message.js';
import { NOTICES, noticeFor } from './notices.js';

/** What the bridge needs from an agent backend: a stream of reply text deltas. */
export type AgentClient = Pick<OpenClawChatClient, 'streamChat'>;

/** One accepted message waiting for its answer. */
export interface TurnJob {
  readonly message: InboundMessage;
  /** The text for the agent (prefix stripped). */
  readonly text: string;
  readonly sessionKey: string;
  readonly account: AccountConfig;
  readonly allowedOrigins: readonly string[];
}

export interface TurnDependencies {
  readonly agent: AgentClient;
  readonly http: DingTalkHttp;
  readonly metrics: GatewayMetrics;
  readonly agentId: string;
  /** Sessions that already got a reply since start (for `responsePrefix`). */
  readonly answeredSessions: Set<string>;
}

// Webhook posts: 3 tries, 0.5 s then 1 s apart, for 5xx, 429, throttling codes and transport errors.
const WEBHOOK_RETRY = {
  attempts: 3,
  policy: { ...STREAM_RECONNECT_POLICY, initialDelayMs: 500, maxDelayMs: 2_000 },
};

/** The user turn sent to OpenClaw; in groups it names the speaker so the agent knows who talks. */
export function userContent(job: Pick<TurnJob, 'message' | 'text'>): string {
  const { message } = job;
  if (message.chatType === 'dm') return job.text;
  const name = message.senderNick ?? 'unknown';
  return `[From ${name} (id: ${message.senderKey})]\n${job.text}`;
}

/**
 * Answers one message: asks the agent, then sends the reply (or an error notice) through the
 * session webhook, chunk by chunk, in order. Never throws; failures are logged and counted.
 */
export async function runTurn(
  job: TurnJob,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const startedMs = performance.now();
  const messages: ChatMessage[] = [{ role: 'user', content: userContent(job) }];
  let reply = '';
  let failure: unknown;
  try {
    for await (const delta of deps.agent.streamChat({
      sessionKey: job.sessionKey,
      agentId: deps.agentId,
      messages,
      signal,
    })) {
      reply += delta;
    }
  } catch (error) {
    failure = error;
  }

  if (signal.aborted) {
    deps.metrics.turns.inc({ outcome: 'aborted' });
    log.warn({ chars: reply.length }, 'turn aborted before the reply was sent');
    return;
  }
  let text = reply.trim();
  if (failure !== undefined) {
    log.warn({ err: failure, partialChars: text.length }, 'agent turn failed; sending an error notice');
    text = text === '' ? noticeFor(failure, false) : `${text}\n\n${noticeFor(failure, true)}`;
  } else if (text === '') {
    text = NOTICES.empty;
  }
  if (!deps.answeredSessions.has(job.sessionKey))
    text = applyResponsePrefix(text, job.account.responsePrefix);

  const sent = await sendReply(job, formatReply(text, job.account), deps, log, signal);
  if (sent) deps.answeredSessions.add(job.sessionKey);
  deps.metrics.turns.inc({ outcome: failure === undefined ? 'ok' : 'error' });
  deps.metrics.turnDurationSeconds.observe((performance.now() - startedMs) / 1000);
}

async function sendReply(
  job: TurnJob,
  outgoing: readonly OutgoingMessage[],
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<boolean> {
  const webhook = job.message.sessionWebhook;
  if (webhook === undefined) {
    deps.metrics.repliesSent.inc({ route: 'webhook', outcome: 'refused' }, outgoing.length);
    log.error('message has no sessionWebhook; the reply cannot be delivered');
    return false;
  }
  for (const [index, message] of outgoing.entries()) {
    try {
      await withRetries(() => sendBySessionWebhook(deps.http, webhook, message, job.allowedOrigins, signal), {
        ...WEBHOOK_RETRY,
        signal,
        isRetryable: (error) => error instanceof GatewayError && error.retryable,
        onRetry: (error, attempt, delayMs) =>
          log.warn({ error: describeCause(error), attempt, delayMs }, 'reply post failed; retrying'),
      });
      deps.metrics.repliesSent.inc({ route: 'webhook', outcome: 'ok' });
    } catch (error) {
      const isRefused = error instanceof UrlRefusedError;
      deps.metrics.repliesSent.inc({ route: 'webhook', outcome: isRefused ? 'refused' : 'error' });
      // Later chunks are not sent: the user would see a reply with a hole in it.
      log.error({ err: error, chunk: index + 1, chunks: outgoing.length }, 'reply could not be delivered');
      return false;
    }
  }
  log.info({ chunks: outgoing.length }, 'reply delivered');
  return true;
}
