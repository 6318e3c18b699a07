import type { AccountConfig } from '../config/types.js';
import type { CardReply } from '../cards/card-reply.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { applyResponsePrefix, formatReply, textFormat } from '../reply/format-reply.js';
import { ProgressiveReply } from '../reply/progressive-reply.js';

/** How a streaming reply reaches the conversation: messages, or one card. */
export interface ReplyPresenter {
  /** Visible reply text arrived (`delta`; `soFar` is everything visible until now). */
  text(delta: string, soFar: string): OutgoingMessage[];
  /**
   * The turn ended: the remaining messages to send. `trailer` paragraphs (inline images, notices)
   * follow the text; `isFailure` when the agent failed.
   */
  finish(soFar: string, trailer: readonly string[], isFailure: boolean): Promise<OutgoingMessage[]>;
  /** True once anything reached the user (a message or the card's content). */
  readonly hasShown: boolean;
}

/** Markdown/text replies, sent piece by piece as they become final. */
export class MessagePresenter implements ReplyPresenter {
  readonly #progressive: ProgressiveReply;

  constructor(account: AccountConfig, responsePrefix: string | undefined) {
    this.#progressive = new ProgressiveReply(textFormat(account), responsePrefix);
  }

  get hasShown(): boolean {
    return this.#progressive.hasEmitted;
  }

  text(delta: string): OutgoingMessage[] {
    return this.#progressive.push(delta);
  }

  finish(_soFar: string, trailer: readonly string[]): Promise<OutgoingMessage[]> {
    return Promise.resolve(this.#progressive.end(trailer));
  }
}

/** One streaming AI card; what the card cannot show goes out as markdown at the end. */
export class CardPresenter implements ReplyPresenter {
  readonly #card: CardReply;
  readonly #account: AccountConfig;
  readonly #prefix: string | undefined;
  #hasShown = false;

  constructor(card: CardReply, account: AccountConfig, responsePrefix: string | undefined) {
    this.#card = card;
    this.#account = account;
    this.#prefix = responsePrefix;
  }

  get hasShown(): boolean {
    return this.#hasShown;
  }

  text(_delta: string, soFar: string): OutgoingMessage[] {
    if (soFar.trim() !== '') {
      this.#card.show(applyResponsePrefix(soFar.trim(), this.#prefix));
      this.#hasShown = true;
    }
    return [];
  }

  async finish(soFar: string, trailer: readonly string[], isFailure: boolean): Promise<OutgoingMessage[]> {
    const body = [soFar.trim(), ...trailer].filter((part) => part !== '').join('\n\n');
    const final = applyResponsePrefix(body, this.#prefix);
    this.#hasShown = true;
    const remainder = await this.#card.finish(final, isFailure && soFar.trim() === '');
    return remainder === '' ? [] : formatReply(remainder, textFormat(this.#account));
  }
}
