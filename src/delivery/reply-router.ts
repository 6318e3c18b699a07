import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import { type ProactiveSender, type ProactiveTarget, sendProactive } from '../dingtalk/api/robot-send.js';
import { type OutgoingMessage, isTextual } from '../dingtalk/outgoing-message.js';
import { sendBySessionWebhook } from '../dingtalk/reply/session-webhook.js';
import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import { DingTalkApiError, UndeliverableError, describeCause, isRetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ReplyRoute } from '../state/store.js';
import { RecentKeys } from '../util/recent-keys.js';
import { withRetries } from '../util/retry.js';

/** Which API carried a message. */
export type DeliveryPath = 'webhook' | 'proactive';

/** Expired webhook URLs remembered at most (the oldest is forgotten first). */
const MAX_REMEMBERED_EXPIRED = 10_000;

/** errcode of a session webhook that expired or never existed. */
export const EXPIRED_SESSION_ERRCODE = '300001';

export interface DeliveryPolicy {
  /** A session webhook is not used within this long of its expiry. */
  readonly webhookSafetyMarginMs: number;
  /** Tries per message on each path (the first included). */
  readonly attempts: number;
  readonly retryBackoff: BackoffPolicy;
}

export interface ReplyRouterOptions {
  readonly http: DingTalkHttp;
  /** Proactive API access per account id. */
  readonly proactive: ReadonlyMap<string, ProactiveSender>;
  /** Allowed session-webhook origins per account id. */
  readonly allowedOrigins: ReadonlyMap<string, readonly string[]>;
  readonly policy: DeliveryPolicy;
  readonly metrics: GatewayMetrics;
  readonly now?: () => number;
}

/**
 * Delivers one message to a conversation: through its session webhook while that is valid, else
 * (expired, errcode 300001, refused, or still failing after retries) through the proactive robot
 * API: `batchSend` to the DM sender's staffId or `groupMessages/send` to the group. Transient
 * failures are retried with backoff; permanent ones are not. Throws {@link UndeliverableError}
 * when no path worked.
 */
export class ReplyRouter {
  readonly #options: ReplyRouterOptions;
  readonly #now: () => number;
  /** Webhooks DingTalk reported expired: not tried again. Oldest forgotten past {@link MAX_REMEMBERED_EXPIRED}. */
  readonly #expiredWebhooks = new RecentKeys(MAX_REMEMBERED_EXPIRED);

  constructor(options: ReplyRouterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async deliver(
    route: ReplyRoute,
    message: OutgoingMessage,
    log: Logger,
    signal?: AbortSignal,
  ): Promise<DeliveryPath> {
    // Media messages can only travel through the proactive API.
    if (isTextual(message) && this.#isWebhookUsable(route)) {
      try {
        await this.#attempt('webhook', log, signal, () =>
          sendBySessionWebhook(
            this.#options.http,
            route.webhookUrl ?? '',
            message,
            this.#options.allowedOrigins.get(route.accountId) ?? [],
            signal,
          ),
        );
        return 'webhook';
      } catch (error) {
        if (signal?.aborted === true) throw error;
        if (error instanceof DingTalkApiError && error.apiCode === EXPIRED_SESSION_ERRCODE) {
          this.#expiredWebhooks.add(route.webhookUrl ?? '');
        }
        log.warn(
          { error: describeCause(error) },
          'session webhook failed; falling back to the proactive API',
        );
      }
    }
    const sender = this.#options.proactive.get(route.accountId);
    const target = proactiveTarget(route);
    if (sender === undefined || target === undefined) {
      this.#options.metrics.repliesSent.inc({ route: 'proactive', outcome: 'no-target' });
      throw new UndeliverableError(
        route.chatType === 'dm'
          ? 'no usable session webhook and the DM sender has no staffId for the proactive API'
          : 'no usable session webhook and no group id for the proactive API',
      );
    }
    try {
      await this.#attempt('proactive', log, signal, () => sendProactive(sender, target, message, signal));
      return 'proactive';
    } catch (error) {
      if (signal?.aborted === true) throw error;
      throw new UndeliverableError(`reply undeliverable: ${describeCause(error)}`, { cause: error });
    }
  }

  #isWebhookUsable(route: ReplyRoute): boolean {
    if (route.webhookUrl === undefined || this.#expiredWebhooks.has(route.webhookUrl)) return false;
    if (route.webhookExpiresAtMs === undefined) return true;
    return this.#now() + this.#options.policy.webhookSafetyMarginMs < route.webhookExpiresAtMs;
  }

  async #attempt(
    path: DeliveryPath,
    log: Logger,
    signal: AbortSignal | undefined,
    send: () => Promise<unknown>,
  ): Promise<void> {
    const { policy, metrics } = this.#options;
    try {
      await withRetries(send, {
        attempts: policy.attempts,
        policy: policy.retryBackoff,
        isRetryable: isRetryableError,
        ...(signal === undefined ? {} : { signal }),
        onRetry: (error, attempt, delayMs) => {
          metrics.repliesSent.inc({ route: path, outcome: 'retry' });
          log.warn({ path, error: describeCause(error), attempt, delayMs }, 'reply send failed; retrying');
        },
      });
      metrics.repliesSent.inc({ route: path, outcome: 'ok' });
    } catch (error) {
      const apiCode = error instanceof DingTalkApiError ? error.apiCode : undefined;
      metrics.repliesSent.inc({ route: path, outcome: isRetryableError(error) ? 'error' : 'rejected' });
      log.warn({ path, apiCode, error: describeCause(error) }, 'reply send gave up on this path');
      throw error;
    }
  }
}

function proactiveTarget(route: ReplyRoute): ProactiveTarget | undefined {
  if (route.chatType === 'dm')
    return route.staffId === undefined ? undefined : { kind: 'dm', userId: route.staffId };
  return route.openConversationId === undefined
    ? undefined
    : { kind: 'group', openConversationId: route.openConversationId };
}
