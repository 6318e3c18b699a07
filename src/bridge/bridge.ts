import { BOT_MESSAGE_TOPIC } from '../config/accounts.js';
import type { AccountConfig } from '../config/types.js';
import { BotMessage } from '../dingtalk/bot-message.js';
import type { AckDecision, CallbackFrame } from '../dingtalk/stream/stream-client.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ReplyRoute, StateStore } from '../state/store.js';
import { decideAccess } from './access-control.js';
import { type CommandServices, replyDirectly, runCommand, withGeneration } from './command-handler.js';
import { type ChatCommand, parseCommand } from './commands.js';
import { type IntakeOutcome, decideAck } from './ack-policy.js';
import { boundInboundText } from './inbound-limits.js';
import { conversationKeyOf } from './conversation-key.js';
import type { Dispatcher } from './dispatcher.js';
import type { InboundMessage } from './inbound-message.js';
import { normalizeBotMessage } from './normalize.js';
import { NOTICES } from './notices.js';
import { SenderRateLimiter } from './sender-rate-limit.js';
import { sessionKeyFor } from './session-key.js';

export interface BridgeOptions {
  readonly accounts: readonly AccountConfig[];
  readonly store: StateStore;
  readonly dispatcher: Pick<Dispatcher, 'wake'>;
  /** Unfinished messages per session beyond which the sender gets a busy notice instead. */
  readonly maxQueuePerConversation: number;
  /** What chat commands (`/new`, `/stop`, …) act on. */
  readonly commands: CommandServices;
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
 * + dedupe key, atomically) and hands it to the dispatcher as soon as it is committed. The ACK
 * decision is returned once the record is durable, never after the agent's answer.
 */
export class Bridge {
  readonly #options: BridgeOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #accounts: ReadonlyMap<string, AccountConfig>;
  readonly #senderLimits: ReadonlyMap<string, SenderRateLimiter>;
  /** Messages in intake holding a sender rate slot (given back unless they are accepted). */
  readonly #slotHolders = new Set<InboundMessage>();
  #isAccepting = true;

  constructor(options: BridgeOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'bridge' });
    this.#accounts = new Map(options.accounts.map((account) => [account.id, account]));
    this.#senderLimits = new Map(
      options.accounts.map((account) => [
        account.id,
        new SenderRateLimiter({ ...account.senderRateLimit, now: this.#now }),
      ]),
    );
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
    const frameFields = { account: frame.accountId, messageId: frame.messageId };
    // A child logger only for the rare early exits: an accepted message gets one, with its ids, below.
    const log = (): Logger => this.#log.child(frameFields);
    const count = (outcome: string): void =>
      this.#options.metrics.messages.inc({ account: frame.accountId, outcome });
    this.#options.metrics.messagesReceived.inc({ account: frame.accountId });
    if (account === undefined || frame.topic !== BOT_MESSAGE_TOPIC) {
      log().debug({ topic: frame.topic }, 'callback for a topic the gateway does not handle');
      count('ignored');
      return 'ignored-topic';
    }
    if (!this.#isAccepting) {
      log().info('shutting down: message left unacked for redelivery');
      return 'shutting-down';
    }
    const parsed = BotMessage.safeParse(frame.data);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
      log().warn({ paths }, 'bot message payload is malformed; dropped');
      count('invalid');
      return 'invalid';
    }
    const nowMs = this.#now();
    const bounded = boundInboundText(
      normalizeBotMessage(account.id, account.clientId, parsed.data, nowMs),
      account.maxInboundChars,
    );
    const { message } = bounded;
    const messageLog = this.#log.child({
      ...frameFields,
      msgId: message.msgId,
      conversationId: message.conversationId,
    });
    if (bounded.cutFromChars !== undefined) {
      messageLog.warn(
        { chars: bounded.cutFromChars, maxInboundChars: account.maxInboundChars },
        'message text longer than maxInboundChars; the rest is not passed on',
      );
    }
    try {
      const outcome = await this.#record(message, account, messageLog, nowMs, count);
      this.#releaseSlot(message, outcome !== 'accepted');
      return outcome;
    } catch (error) {
      this.#releaseSlot(message, true);
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
    const limited = await this.#limitSender(message, account, log, nowMs, count);
    if (limited !== undefined) return limited;
    // The queue key stays the same across /new, so messages before and after it keep their order.
    const baseSessionKey = sessionKeyFor(message, account.isolateContextPerUserInGroup);
    const sessionKey = withGeneration(baseSessionKey, await store.sessionGeneration(baseSessionKey));
    const command = account.commands.enabled ? parseCommand(access.text) : undefined;
    if (command !== undefined) {
      return this.#command(command, { message, account, baseSessionKey, sessionKey, log, nowMs, count });
    }
    if ((await store.queueLength(baseSessionKey)) >= this.#options.maxQueuePerConversation) {
      return this.#busy({ message, account, log, nowMs, count });
    }
    const entry = {
      dedupeKey: message.dedupeKey,
      accountId: account.id,
      queueKey: baseSessionKey,
      job: { message, text: access.text, sessionKey },
      acceptedAtMs: nowMs,
    };
    // The turn starts once the entry is committed, without waiting for the disk; the ACK (this
    // promise) waits for it. A machine crash in between loses nothing: the message was not acked,
    // so DingTalk delivers it again, and every reply message is recorded by a write that waits
    // for the disk (making this entry durable too) before it is sent. At worst the agent is asked
    // twice, and in card mode an empty card may stay, as after a crash just after a turn starts.
    const result = await store.accept(entry, routeOf(message), {
      onCommitted: () => this.#options.dispatcher.wake(baseSessionKey),
    });
    if (result.status === 'duplicate') {
      log.info('duplicate delivery of a message already accepted; dropped');
      count('deduped');
      return 'duplicate';
    }
    count('accepted');
    log.info({ chatType: message.chatType, msgtype: message.msgtype }, 'message accepted');
    log.debug({ text: access.text }, 'message text');
    return 'accepted';
  }

  /** The conversation already has `maxQueuePerConversation` messages waiting: say so at once. */
  async #busy(context: {
    message: InboundMessage;
    account: AccountConfig;
    log: Logger;
    nowMs: number;
    count: (outcome: string) => void;
  }): Promise<IntakeOutcome> {
    const { message, log, count } = context;
    if ((await this.#options.store.remember(message.dedupeKey, context.nowMs)) === 'duplicate') {
      count('deduped');
      return 'duplicate';
    }
    count('busy');
    log.warn('conversation queue full; answering with a busy notice');
    const target = { message, account: context.account, route: routeOf(message) };
    void replyDirectly(target, NOTICES.queueFull, this.#options.commands, log).catch((error: unknown) =>
      log.error({ err: error }, 'busy notice could not be sent'),
    );
    return 'accepted';
  }

  /**
   * The per-sender flood limit (`senderRateLimit`): a message over it is acked, remembered for
   * dedupe, counted as rejected (`rate-limited`) and dropped without a reply, so a flood costs no
   * inbox write, agent turn or outbound message. Undefined when the message may go on.
   */
  async #limitSender(
    message: InboundMessage,
    account: AccountConfig,
    log: Logger,
    nowMs: number,
    count: (outcome: string) => void,
  ): Promise<IntakeOutcome | undefined> {
    const decision = this.#senderLimits.get(account.id)?.take(message.senderKey);
    if (decision?.allowed === true) this.#slotHolders.add(message);
    if (decision === undefined || decision.allowed) return undefined;
    if ((await this.#options.store.remember(message.dedupeKey, nowMs)) === 'duplicate') {
      count('deduped');
      return 'duplicate';
    }
    // One warning per flood; the rest of it at debug, so a flood cannot flood the log too.
    log[decision.isFirstRefusal ? 'warn' : 'debug'](
      { sender: message.senderKey, limit: account.senderRateLimit },
      'sender over senderRateLimit; message dropped without a reply',
    );
    this.#options.metrics.messagesRejected.inc({ account: account.id, reason: 'rate-limited' });
    count('rejected');
    return 'rate-limited';
  }

  #releaseSlot(message: InboundMessage, isNotNew: boolean): void {
    if (this.#slotHolders.delete(message) && isNotNew)
      this.#senderLimits.get(message.accountId)?.release(message.senderKey);
  }

  /** Runs a chat command once (deduped like messages) and sends its answer; acked at once. */
  async #command(
    command: ChatCommand,
    context: {
      message: InboundMessage;
      account: AccountConfig;
      baseSessionKey: string;
      sessionKey: string;
      log: Logger;
      nowMs: number;
      count: (outcome: string) => void;
    },
  ): Promise<IntakeOutcome> {
    const { message, log, count } = context;
    if ((await this.#options.store.remember(message.dedupeKey, context.nowMs)) === 'duplicate') {
      count('deduped');
      return 'duplicate';
    }
    count('command');
    log.info({ command }, 'chat command');
    const request = { ...context, command, route: routeOf(message) };
    const services = this.#options.commands;
    void runCommand(request, services)
      .then((text) => (text === undefined ? undefined : replyDirectly(request, text, services, log)))
      .catch((error: unknown) => log.error({ err: error, command }, 'chat command failed'));
    return 'accepted';
  }
}
