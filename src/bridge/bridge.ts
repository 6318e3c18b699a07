import { BOT_MESSAGE_TOPIC } from '../config/accounts.js';
import type { AccountConfig } from '../config/types.js';
import { BotMessage } from '../dingtalk/bot-message.js';
import type { AckDecision, CallbackFrame } from '../dingtalk/stream/stream-client.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { InboxRecord, ReplyRoute, StateStore } from '../state/store.js';
import { decideAccess } from './access-control.js';
import { type IntakeOutcome, decideAck } from './ack-policy.js';
import { conversationKeyOf } from './conversation-key.js';
import type { Dispatcher } from './dispatcher.js';
import type { InboundMessage } from './inbound-message.js';
import { normalizeBotMessage } from './normalize.js';
import { sessionKeyFor } from './session-key.js';

export interface BridgeOptions {
  readonly accounts: readonly AccountConfig[];
  readonly store: StateStore;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Wall clock in ms. @defaultValue Date.now */
  readonly now?: () => number;
}

/** The reply route a message provides for its conversation. */
export function routeOf(message: InboundMessage): ReplyRoute {
  return {
    conversationKey: conversationKeyOf(message),
    accountId: message.accountId,
    chatType: message.chatType,
    webhookUrl: message.sessionWebhook,
    webhookExpiresAtMs: message.sessionWebhookExpiresAtMs,
    staffId: message.chatType === 'dm' ? message.senderStaffId : undefined,
    openConversationId: message.chatType === 'group' ? message.conversationId : undefined,
  };
}

/**
 * DingTalk callback intake: validates, applies access control, records the message durably (inbox
 * + dedupe key, atomically) and hands it to the dispatcher. The ACK decision is returned once the
 * record is written, never after the agent's answer.
 */
export class Bridge {
  readonly #options: BridgeOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #accounts: ReadonlyMap<string, AccountConfig>;
  #isAccepting = true;

  constructor(options: BridgeOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'bridge' });
    this.#accounts = new Map(options.accounts.map((account) => [account.id, account]));
  }

  /** Receives one CALLBACK frame and decides its ACK. Never throws. */
  readonly handleCallback = async (frame: CallbackFrame): Promise<AckDecision> =>
    decideAck(await this.#intake(frame));

  /** New messages stay unacked from now on (DingTalk delivers them again, here after a restart or elsewhere). */
  stopAccepting(): void {
    this.#isAccepting = false;
  }

  async #intake(frame: CallbackFrame): Promise<IntakeOutcome> {
    const account = this.#accounts.get(frame.accountId);
    const log = this.#log.child({ account: frame.accountId, messageId: frame.messageId });
    const count = (outcome: string): void =>
      this.#options.metrics.messages.inc({ account: frame.accountId, outcome });
    if (account === undefined || frame.topic !== BOT_MESSAGE_TOPIC) {
      log.debug({ topic: frame.topic }, 'callback for a topic the gateway does not handle');
      count('ignored');
      return 'ignored-topic';
    }
    if (!this.#isAccepting) {
      log.info('shutting down: message left unacked for redelivery');
      return 'shutting-down';
    }
    const parsed = BotMessage.safeParse(frame.data);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
      log.warn({ paths }, 'bot message payload is malformed; dropped');
      count('invalid');
      return 'invalid';
    }
    const nowMs = this.#now();
    const message = normalizeBotMessage(account.id, account.clientId, parsed.data, nowMs);
    const messageLog = log.child({ msgId: message.msgId, conversationId: message.conversationId });
    try {
      return await this.#record(message, account, messageLog, nowMs, count);
    } catch (error) {
      messageLog.error({ err: error }, 'could not record the message; left unacked for redelivery');
      count('record-failed');
      return 'record-failed';
    }
  }

  async #record(
    message: InboundMessage,
    account: AccountConfig,
    log: Logger,
    nowMs: number,
    count: (outcome: string) => void,
  ): Promise<IntakeOutcome> {
    const { store } = this.#options;
    const access = decideAccess(message, account);
    if (!access.allowed) {
      if ((await store.remember(message.dedupeKey, nowMs)) === 'duplicate') {
        count('deduped');
        return 'duplicate';
      }
      log.debug({ reason: access.reason, chatType: message.chatType }, 'message rejected');
      this.#options.metrics.messagesRejected.inc({ account: account.id, reason: access.reason });
      count('rejected');
      return 'rejected';
    }
    const sessionKey = sessionKeyFor(message, account.isolateContextPerUserInGroup);
    const entry = {
      dedupeKey: message.dedupeKey,
      accountId: account.id,
      queueKey: sessionKey,
      job: { message, text: access.text, sessionKey },
      acceptedAtMs: nowMs,
    };
    const result = await store.accept(entry, routeOf(message));
    if (result.status === 'duplicate') {
      log.info('duplicate delivery of a message already accepted; dropped');
      count('deduped');
      return 'duplicate';
    }
    count('accepted');
    log.info({ chatType: message.chatType, msgtype: message.msgtype }, 'message accepted');
    log.debug({ text: access.text }, 'message text');
    const record: InboxRecord = { ...entry, id: result.id, attempts: 0, chunks: [], isReplyComplete: false };
    this.#options.dispatcher.submit(record, log);
    return 'accepted';
  }
}
