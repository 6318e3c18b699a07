import { BOT_MESSAGE_TOPIC } from '../config/accounts.js';
import type { AccountConfig } from '../config/types.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import { originsOf } from '../dingtalk/allowed-origins.js';
import { BotMessage } from '../dingtalk/bot-message.js';
import type { AckDecision, CallbackFrame } from '../dingtalk/stream/stream-client.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { decideAccess } from './access-control.js';
import { type IntakeOutcome, decideAck } from './ack-policy.js';
import type { DedupeStore } from './dedupe.js';
import { KeyedQueue } from './keyed-queue.js';
import { normalizeBotMessage } from './normalize.js';
import { sessionKeyFor } from './session-key.js';
import { type AgentClient, type TurnJob, runTurn } from './turn.js';

export interface BridgeOptions {
  readonly accounts: readonly AccountConfig[];
  readonly agent: AgentClient;
  readonly agentId: string;
  readonly http: DingTalkHttp;
  readonly dedupe: DedupeStore;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Wall clock in ms. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * DingTalk callback → OpenClaw turn → reply. `handleCallback` validates, dedupes and queues a
 * message, then returns the ACK decision at once; the turn runs afterwards, one at a time per
 * session, concurrently across sessions.
 */
export class Bridge {
  readonly #options: BridgeOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #accounts: ReadonlyMap<string, { account: AccountConfig; allowedOrigins: readonly string[] }>;
  readonly #queue = new KeyedQueue();
  readonly #answeredSessions = new Set<string>();
  readonly #abort = new AbortController();
  #isAccepting = true;

  constructor(options: BridgeOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'bridge' });
    this.#accounts = new Map(
      options.accounts.map((account) => [
        account.id,
        { account, allowedOrigins: originsOf([account.apiBase, account.oapiBase]) },
      ]),
    );
  }

  /** Turns queued or running. */
  get pendingTurns(): number {
    return this.#queue.size;
  }

  /** Receives one CALLBACK frame and decides its ACK. Never throws. */
  readonly handleCallback = (frame: CallbackFrame): Promise<AckDecision> => {
    const outcome = this.#intake(frame);
    return Promise.resolve(decideAck(outcome));
  };

  /** New messages stay unacked from now on (DingTalk will deliver them again elsewhere or later). */
  stopAccepting(): void {
    this.#isAccepting = false;
  }

  /**
   * Waits up to `graceMs` for queued and running turns; then aborts what is left. Resolves with
   * the number of turns that had to be aborted.
   */
  async drain(graceMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)),
    );
    const result = await Promise.race([this.#queue.onIdle().then(() => 'idle' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'idle') return 0;
    const left = this.#queue.size;
    this.#abort.abort(new Error('gateway shutting down'));
    await this.#queue.onIdle();
    return left;
  }

  #intake(frame: CallbackFrame): IntakeOutcome {
    const entry = this.#accounts.get(frame.accountId);
    const log = this.#log.child({ account: frame.accountId, messageId: frame.messageId });
    const count = (outcome: string): void =>
      this.#options.metrics.messages.inc({ account: frame.accountId, outcome });
    if (entry === undefined || frame.topic !== BOT_MESSAGE_TOPIC) {
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
    const { account, allowedOrigins } = entry;
    const message = normalizeBotMessage(account.id, account.clientId, parsed.data, this.#now());
    const messageLog = log.child({ msgId: message.msgId, conversationId: message.conversationId });
    if (!this.#options.dedupe.claim(message.dedupeKey, this.#now())) {
      messageLog.info('duplicate delivery of a message already accepted; dropped');
      count('deduped');
      return 'duplicate';
    }
    const access = decideAccess(message, account);
    if (!access.allowed) {
      messageLog.debug({ reason: access.reason, chatType: message.chatType }, 'message rejected');
      this.#options.metrics.messagesRejected.inc({ account: account.id, reason: access.reason });
      count('rejected');
      this.#options.dedupe.complete(message.dedupeKey, this.#now());
      return 'rejected';
    }
    const sessionKey = sessionKeyFor(message, account.isolateContextPerUserInGroup);
    const job: TurnJob = { message, text: access.text, sessionKey, account, allowedOrigins };
    count('accepted');
    messageLog.info({ chatType: message.chatType, msgtype: message.msgtype }, 'message accepted');
    messageLog.debug({ text: access.text }, 'message text');
    this.#queue.push(sessionKey, async () => {
      try {
        await runTurn(job, this.#turnDependencies, messageLog, this.#abort.signal);
      } catch (error) {
        messageLog.error({ err: error }, 'turn failed unexpectedly');
      } finally {
        this.#options.dedupe.complete(message.dedupeKey, this.#now());
      }
    });
    return 'accepted';
  }

  get #turnDependencies() {
    return {
      agent: this.#options.agent,
      http: this.#options.http,
      metrics: this.#options.metrics,
      agentId: this.#options.agentId,
      answeredSessions: this.#answeredSessions,
    };
  }
}
