import { basename } from 'node:path';

import { type ReplyMediaServices, prepareAttachments } from '../bridge/reply-media.js';
import type { AccountConfig, MediaConfig } from '../config/types.js';
import { type ProactiveSender, type ProactiveTarget, sendProactive } from '../dingtalk/api/robot-send.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import type { BackoffPolicy } from '../dingtalk/stream/backoff.js';
import { DingTalkApiError, GatewayError, describeCause, isRetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { MediaAttachment } from '../media/media-tags.js';
import { checkUploadable } from '../media/media-kinds.js';
import { resolveMediaPath } from '../media/path-guard.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { formatReply } from '../reply/format-reply.js';
import { withRetries } from '../util/retry.js';
import type { ConversationOutbox } from './conversation-outbox.js';
import type { DeliveryPath } from './reply-router.js';

/** A message pushed by a script or cron job (`POST /v1/messages`), already validated for shape. */
export interface OutboundRequest {
  readonly accountId: string;
  readonly target: ProactiveTarget;
  /** The text and how DingTalk renders it; undefined when only attachments are sent. */
  readonly content:
    | { readonly format: 'text' | 'markdown'; readonly text: string; readonly title: string | undefined }
    | undefined;
  /** Local files inside the account's `mediaRoots`; sent after the text (images inline in markdown). */
  readonly media: readonly { readonly path: string; readonly name: string | undefined }[];
}

/** A problem with one field of the request, named by its key path (`media.0.path`). */
export interface RequestIssue {
  readonly path: string;
  readonly message: string;
}

/** What became of a request. `failed` carries what DingTalk answered and what was sent before. */
export type OutboundResult =
  | { readonly status: 'sent'; readonly sent: number; readonly processQueryKeys: string[] }
  | { readonly status: 'invalid'; readonly issues: RequestIssue[] }
  | { readonly status: 'rate-limited'; readonly retryAfterMs: number }
  | {
      readonly status: 'failed';
      readonly sent: number;
      readonly processQueryKeys: string[];
      readonly endpoint: string | undefined;
      /** DingTalk's HTTP status, when it answered. */
      readonly dingtalkStatus: number | undefined;
      /** DingTalk's own error code (`code` / `errcode`), when it gave one. */
      readonly apiCode: string | undefined;
      readonly message: string;
    };

export interface OutboundMessengerOptions {
  readonly accounts: ReadonlyMap<string, AccountConfig>;
  readonly proactive: ReadonlyMap<string, ProactiveSender>;
  /** The bridge's outbox: pushed messages share each conversation's rate limit with replies. */
  readonly outbox: ConversationOutbox<DeliveryPath>;
  readonly services: ReplyMediaServices;
  readonly media: MediaConfig;
  /** Most messages (text chunks plus attachments) one request may produce. */
  readonly maxMessagesPerRequest: number;
  readonly retry: { readonly attempts: number; readonly backoff: BackoffPolicy };
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

const REFUSALS: Readonly<Record<string, string>> = {
  'outside-roots': 'outside the account’s mediaRoots',
  'no-roots': 'the account has no mediaRoots configured',
  'not-found': 'file not found',
  'not-a-file': 'not a file',
  'too-large': 'too large',
  'unsupported-type': 'file type not supported by DingTalk',
};

/**
 * Sends messages that no user asked for (scripts, cron jobs) through an account's proactive robot
 * API: `batchSend` to a staffId or `groupMessages/send` to a group. The text is split and rendered
 * exactly like an agent reply (the account's `maxChars`, table mode, titles); attachments go
 * through the same path guard and upload as agent attachments. Each conversation's rate limit is
 * the bridge's: a request that does not fit the window now is refused with the wait instead of
 * queueing.
 */
export class OutboundMessenger {
  readonly #options: OutboundMessengerOptions;
  readonly #log: Logger;

  constructor(options: OutboundMessengerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'send-api' });
  }

  async send(request: OutboundRequest, signal: AbortSignal): Promise<OutboundResult> {
    const account = this.#options.accounts.get(request.accountId);
    const sender = this.#options.proactive.get(request.accountId);
    if (account === undefined || sender === undefined) {
      const known = [...this.#options.accounts.keys()].join(', ');
      return invalid('account', `no enabled account "${request.accountId}" (configured: ${known})`);
    }
    const issues = await this.#checkMedia(request, account);
    if (issues.length > 0) return { status: 'invalid', issues };

    const textField = request.content === undefined ? 'media' : request.content.format;
    const estimate = this.#format(request, account, '').length + request.media.length;
    if (estimate > this.#options.maxMessagesPerRequest) {
      return invalid(
        textField,
        `needs ${estimate} messages; at most ${this.#options.maxMessagesPerRequest} per request ` +
          '(delivery.rateLimitMessages)',
      );
    }
    const conversationKey = conversationKeyFor(account.id, request.target);
    const retryAfterMs = this.#options.outbox.delayMs(conversationKey, estimate);
    if (retryAfterMs > 0) return { status: 'rate-limited', retryAfterMs };

    const log = this.#log.child({
      account: account.id,
      target: request.target.kind,
      ...targetFields(request),
    });
    let uploadError: unknown;
    const services: ReplyMediaServices = {
      ...this.#options.services,
      upload: (accountId, file, uploadSignal) =>
        this.#options.services.upload(accountId, file, uploadSignal).catch((error: unknown) => {
          uploadError ??= error;
          throw error;
        }),
    };
    const prepared = await prepareAttachments(request.media.map(attachmentOf), [], {
      accountId: account.id,
      replyMode: request.content?.format ?? 'text',
      mediaRoots: account.mediaRoots,
      limits: this.#options.media,
      services,
      log,
      signal,
    });
    if (uploadError !== undefined) return failure(uploadError, 0, []);
    if (prepared.notices.length > 0) return invalid('media', prepared.notices.join('; '));

    const messages = [
      ...this.#format(request, account, prepared.inlineImages.join('\n\n')),
      ...prepared.media,
    ];
    return this.#deliver(messages, conversationKey, account, sender, request.target, log, signal);
  }

  /** Path-guard and format checks of every attachment, before anything is read or uploaded. */
  async #checkMedia(request: OutboundRequest, account: AccountConfig): Promise<RequestIssue[]> {
    const issues: RequestIssue[] = [];
    for (const [index, item] of request.media.entries()) {
      const resolved = await resolveMediaPath(
        item.path,
        account.mediaRoots,
        this.#options.media.maxOutboundFileBytes,
      );
      if (!resolved.ok) {
        issues.push({ path: `media.${index}.path`, message: REFUSALS[resolved.reason] ?? resolved.reason });
        continue;
      }
      const fileName = item.name ?? basename(resolved.realPath);
      const check = checkUploadable('auto', fileName, resolved.sizeBytes);
      if (!check.ok) {
        const field = item.name === undefined ? 'path' : 'name';
        issues.push({ path: `media.${index}.${field}`, message: REFUSALS[check.reason] ?? check.reason });
      }
    }
    return issues;
  }

  /** The text as DingTalk messages (split at the account's maxChars), `images` appended as paragraphs. */
  #format(request: OutboundRequest, account: AccountConfig, images: string): OutgoingMessage[] {
    const { content } = request;
    const format = content?.format ?? 'text';
    const text = [content?.text ?? '', images].filter((part) => part !== '').join('\n\n');
    if (text === '') return [];
    const messages = formatReply(text, {
      replyMode: format,
      maxChars: account.maxChars,
      tableMode: account.tableMode,
    });
    const title = content?.title;
    if (title === undefined) return messages;
    return messages.map((message) => (message.kind === 'markdown' ? { ...message, title } : message));
  }

  /** Sends the messages one after another through the outbox; stops at the first failure. */
  async #deliver(
    messages: readonly OutgoingMessage[],
    conversationKey: string,
    account: AccountConfig,
    sender: ProactiveSender,
    target: ProactiveTarget,
    log: Logger,
    signal: AbortSignal,
  ): Promise<OutboundResult> {
    const { metrics, retry, outbox } = this.#options;
    const processQueryKeys: string[] = [];
    let sent = 0;
    const deliver = async (message: OutgoingMessage): Promise<DeliveryPath> => {
      try {
        const key = await withRetries(() => sendProactive(sender, target, message, signal), {
          attempts: retry.attempts,
          policy: retry.backoff,
          isRetryable: isRetryableError,
          signal,
          onRetry: (error, attempt, delayMs) =>
            log.warn({ error: describeCause(error), attempt, delayMs }, 'send failed; retrying'),
        });
        metrics.sendApiMessages.inc({ target: target.kind, outcome: 'ok' });
        if (key !== '') processQueryKeys.push(key);
        return 'proactive';
      } catch (error) {
        metrics.sendApiMessages.inc({ target: target.kind, outcome: 'error' });
        throw error;
      }
    };
    for (const message of messages) {
      try {
        await outbox.send(conversationKey, message, account.maxChars, deliver);
        sent += 1;
      } catch (error) {
        const result = failure(error, sent, processQueryKeys);
        log.warn(
          { apiCode: result.apiCode, sent, error: describeCause(error) },
          'pushed message not delivered',
        );
        return result;
      }
    }
    log.info({ messages: sent }, 'pushed message delivered');
    return { status: 'sent', sent, processQueryKeys };
  }
}

/**
 * The rate-limit key: a group shares the bridge's key (`<account>:<openConversationId>`); a DM
 * conversation id is unknown from a staffId, so DMs are keyed by the user.
 */
function conversationKeyFor(accountId: string, target: ProactiveTarget): string {
  return target.kind === 'group'
    ? `${accountId}:${target.openConversationId}`
    : `${accountId}:user:${target.userId}`;
}

function targetFields(request: OutboundRequest): Record<string, string> {
  const { target } = request;
  return target.kind === 'group' ? { conversationId: target.openConversationId } : { staffId: target.userId };
}

function attachmentOf(item: OutboundRequest['media'][number]): MediaAttachment {
  return { kind: 'auto', source: { type: 'path', path: item.path }, name: item.name, raw: item.path };
}

function invalid(path: string, message: string): OutboundResult {
  return { status: 'invalid', issues: [{ path, message }] };
}

function failure(
  error: unknown,
  sent: number,
  processQueryKeys: string[],
): OutboundResult & { status: 'failed' } {
  const api = error instanceof DingTalkApiError ? error : undefined;
  return {
    status: 'failed',
    sent,
    processQueryKeys,
    endpoint: error instanceof GatewayError && 'endpoint' in error ? String(error.endpoint) : undefined,
    dingtalkStatus: api?.status,
    apiCode: api?.apiCode,
    message: describeCause(error),
  };
}
