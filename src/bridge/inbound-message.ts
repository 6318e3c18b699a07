import type { InboundSegment, QuotedMessage } from './message-content.js';

/** A bot message reduced to what the bridge needs, independent of DingTalk's payload shapes. */
export interface InboundMessage {
  readonly accountId: string;
  /** `robotCode:msgId`: stable across redeliveries. */
  readonly dedupeKey: string;
  readonly msgId: string;
  readonly msgtype: string;
  readonly chatType: 'dm' | 'group';
  readonly conversationId: string;
  readonly conversationTitle: string | undefined;
  /** senderStaffId when present (org user id), else the encrypted senderId. */
  readonly senderKey: string;
  readonly senderStaffId: string | undefined;
  readonly senderId: string | undefined;
  readonly senderNick: string | undefined;
  readonly isMentioned: boolean;
  /** The plain-text view: mention space trimmed, placeholders for media (access control, logs). */
  readonly text: string;
  /** Text and media in the order they appeared (media are fetched when the turn runs). */
  readonly segments: readonly InboundSegment[];
  /** The message the user quoted, if this is a reply-with-quote. */
  readonly quoted: QuotedMessage | undefined;
  readonly sessionWebhook: string | undefined;
  readonly sessionWebhookExpiresAtMs: number | undefined;
  readonly createdAtMs: number;
}
