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
  /** The text for the agent: mention space trimmed, placeholders for media. */
  readonly text: string;
  readonly sessionWebhook: string | undefined;
  readonly sessionWebhookExpiresAtMs: number | undefined;
  readonly createdAtMs: number;
}
