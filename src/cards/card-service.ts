import type { CardConfig } from '../config/types.js';
import type { AccessTokenCache } from '../dingtalk/api/access-token.js';
import {
  type CardApiContext,
  type CardErrorClass,
  type CardParamMap,
  type CardTarget,
  classifyCardError,
  createAndDeliverCard,
  streamCardContent,
  updateCard,
} from '../dingtalk/api/card-api.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import type { Logger } from '../log/logger.js';
import { sleepMs } from '../util/sleep.js';
import { TokenBucket } from './token-bucket.js';

/** One account's card access. */
export interface CardAccount {
  readonly apiBase: string;
  readonly robotCode: string;
  readonly tokens: AccessTokenCache;
  readonly card: CardConfig;
}

export interface CardServiceOptions {
  readonly http: DingTalkHttp;
  readonly accounts: ReadonlyMap<string, CardAccount>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Card errors after which cards are not used for `cooldownMs` (nothing would change soon). */
const COOLDOWN_CLASSES = new Set<CardErrorClass>(['throttled', 'permission', 'template']);

/**
 * Card API access shared by every reply: a per-app token bucket in front of every card call, and
 * a cool-down per account after throttling, permission or template errors, during which replies
 * use markdown instead.
 */
export class CardService {
  readonly #options: CardServiceOptions;
  readonly #now: () => number;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #coolingUntilMs = new Map<string, number>();
  readonly #log: Logger;

  constructor(options: CardServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'cards' });
  }

  /** True when the account may use a card now (configured and not cooling down). */
  isAvailable(accountId: string): boolean {
    const until = this.#coolingUntilMs.get(accountId);
    return this.#options.accounts.has(accountId) && (until === undefined || until <= this.#now());
  }

  /** Records a failed card call; starts the cool-down for classes where retrying soon is pointless. */
  noteFailure(accountId: string, error: unknown): CardErrorClass {
    const kind = classifyCardError(error);
    const account = this.#options.accounts.get(accountId);
    if (COOLDOWN_CLASSES.has(kind) && account !== undefined) {
      this.#coolingUntilMs.set(accountId, this.#now() + account.card.cooldownMs);
      this.#log.warn(
        { account: accountId, kind, cooldownMs: account.card.cooldownMs },
        'cards disabled for a while',
      );
    }
    return kind;
  }

  /** The account's card settings. */
  settings(accountId: string): CardConfig | undefined {
    return this.#options.accounts.get(accountId)?.card;
  }

  async create(
    accountId: string,
    outTrackId: string,
    target: CardTarget,
    params: CardParamMap,
    signal: AbortSignal,
  ): Promise<void> {
    const context = await this.#context(accountId, signal);
    await createAndDeliverCard({
      ...context,
      templateId: context.card.templateId,
      outTrackId,
      target,
      cardParamMap: params,
    });
  }

  async stream(accountId: string, outTrackId: string, content: string, signal: AbortSignal): Promise<void> {
    const context = await this.#context(accountId, signal);
    await streamCardContent({ ...context, outTrackId, key: context.card.streamingKey, content });
  }

  async update(
    accountId: string,
    outTrackId: string,
    params: CardParamMap,
    signal: AbortSignal,
  ): Promise<void> {
    const context = await this.#context(accountId, signal);
    await updateCard({ ...context, outTrackId, cardParamMap: params });
  }

  /** Waits for a token of the app's bucket, then returns what a card call needs. */
  async #context(
    accountId: string,
    signal: AbortSignal,
  ): Promise<CardApiContext & { robotCode: string; card: CardConfig }> {
    const account = this.#options.accounts.get(accountId);
    if (account === undefined) throw new Error(`no card access for account ${accountId}`);
    let bucket = this.#buckets.get(account.robotCode);
    if (bucket === undefined) {
      const rate = account.card.callsPerSecond;
      bucket = new TokenBucket(rate, Math.max(1, Math.ceil(rate)), this.#now());
      this.#buckets.set(account.robotCode, bucket);
    }
    const waitMs = bucket.take(this.#now());
    if (waitMs > 0) await sleepMs(waitMs, signal);
    return {
      http: this.#options.http,
      apiBase: account.apiBase,
      tokens: account.tokens,
      robotCode: account.robotCode,
      signal,
      card: account.card,
    };
  }
}
