import { z } from 'zod';

/**
 * The `data` of a bot-message CALLBACK (`/v1.0/im/bot/messages/get`), decoded from its JSON string.
 * Only what the gateway uses is declared; unknown keys are kept. `content` is an object for non-text
 * types, sometimes a JSON string.
 */
export const BotMessage = z.looseObject({
  msgId: z.string().min(1),
  msgtype: z.string().min(1),
  conversationType: z.string().min(1),
  conversationId: z.string().min(1),
  conversationTitle: z.string().optional(),
  senderId: z.string().optional(),
  senderStaffId: z.string().optional(),
  senderNick: z.string().optional(),
  senderCorpId: z.string().optional(),
  robotCode: z.string().optional(),
  chatbotUserId: z.string().optional(),
  isInAtList: z.boolean().optional(),
  atUsers: z
    .array(z.looseObject({ dingtalkId: z.string().optional(), staffId: z.string().optional() }))
    .optional(),
  sessionWebhook: z.string().optional(),
  sessionWebhookExpiredTime: z.number().optional(),
  createAt: z.number().optional(),
  text: z.looseObject({ content: z.string().optional() }).optional(),
  content: z.unknown().optional(),
});

export type BotMessage = z.infer<typeof BotMessage>;

/** `conversationType` of a group chat; `"1"` is a one-to-one chat with the bot. */
export const GROUP_CONVERSATION_TYPE = '2';
