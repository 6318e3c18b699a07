import { AI_CARD_FLOW_STATUS, type CardTarget } from '../dingtalk/api/card-api.js';
import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CardService } from './card-service.js';
import { CardUpdateBudget } from './update-budget.js';

/**
 * One reply shown as a streaming AI card: created in the "processing" state when the turn starts,
 * updated with the whole text so far (single-flight, latest wins, paced by {@link CardUpdateBudget}),
 * and finished with the final text. If a card call fails the card is left as it is and
 * {@link finish} returns the text the card does not show, to be sent as markdown: nothing is lost
 * and nothing is shown twice.
 */
export class CardReply {
  readonly outTrackId: string;
  readonly #service: CardService;
  readonly #accountId: string;
  readonly #budget: CardUpdateBudget;
  readonly #log: Logger;
  readonly #signal: AbortSignal;
  readonly #now: () => number;
  #shown = '';
  #latest = '';
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #hasFailed = false;

  private constructor(
    service: CardService,
    accountId: string,
    outTrackId: string,
    log: Logger,
    signal: AbortSignal,
    now: () => number,
  ) {
    const settings = service.settings(accountId);
    if (settings === undefined) throw new Error(`no card settings for account ${accountId}`);
    this.#service = service;
    this.#accountId = accountId;
    this.outTrackId = outTrackId;
    this.#log = log;
    this.#signal = signal;
    this.#now = now;
    this.#budget = new CardUpdateBudget(settings, now());
  }

  /** Creates and delivers the card; undefined when that failed (the reply then goes as markdown). */
  static async open(
    service: CardService,
    context: {
      accountId: string;
      outTrackId: string;
      target: CardTarget;
      log: Logger;
      signal: AbortSignal;
      now?: () => number;
    },
  ): Promise<CardReply | undefined> {
    try {
      await service.create(
        context.accountId,
        context.outTrackId,
        context.target,
        {
          flowStatus: AI_CARD_FLOW_STATUS.processing,
          msgContent: '',
          config: JSON.stringify({ autoLayout: true }),
        },
        context.signal,
      );
    } catch (error) {
      if (context.signal.aborted) throw error;
      const kind = service.noteFailure(context.accountId, error);
      context.log.warn(
        { kind, error: describeCause(error) },
        'card could not be created; replying with markdown',
      );
      return undefined;
    }
    return new CardReply(
      service,
      context.accountId,
      context.outTrackId,
      context.log,
      context.signal,
      context.now ?? Date.now,
    );
  }

  /** The whole reply text so far; shown at the next update the budget allows. */
  show(text: string): void {
    this.#latest = text;
    this.#schedule();
  }

  /**
   * Shows `text` as the final content (failed state when `isError`) and returns what still has to
   * be sent as markdown: '' when the card shows everything.
   */
  async finish(text: string, isError: boolean): Promise<string> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    if (!this.#hasFailed) {
      try {
        const flowStatus = isError ? AI_CARD_FLOW_STATUS.failed : AI_CARD_FLOW_STATUS.finished;
        await this.#service.update(
          this.#accountId,
          this.outTrackId,
          { flowStatus, msgContent: text },
          this.#signal,
        );
        this.#shown = text;
        return '';
      } catch (error) {
        if (this.#signal.aborted) throw error;
        this.#fail(error);
      }
    }
    return text.startsWith(this.#shown) ? text.slice(this.#shown.length).trim() : text;
  }

  #schedule(): void {
    if (this.#hasFailed || this.#inFlight !== undefined || this.#timer !== undefined) return;
    if (this.#latest === this.#shown) return;
    const atMs = this.#budget.nextUpdateAtMs();
    if (atMs === undefined) return;
    this.#timer = setTimeout(() => this.#update(), Math.max(0, atMs - this.#now()));
  }

  #update(): void {
    this.#timer = undefined;
    const text = this.#latest;
    this.#budget.recordUpdate(this.#now());
    this.#inFlight = this.#service
      .stream(this.#accountId, this.outTrackId, text, this.#signal)
      .then(() => {
        this.#shown = text;
      })
      .catch((error: unknown) => {
        if (!this.#signal.aborted) this.#fail(error);
      })
      .finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
  }

  #fail(error: unknown): void {
    this.#hasFailed = true;
    const kind = this.#service.noteFailure(this.#accountId, error);
    this.#log.warn(
      { kind, error: describeCause(error) },
      'card update failed; the rest of the reply goes as markdown',
    );
  }
}
