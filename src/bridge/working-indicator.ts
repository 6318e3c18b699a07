import type { AccessTokenCache } from '../dingtalk/api/access-token.js';
import { addReaction, recallReaction } from '../dingtalk/api/emotion.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { InboundMessage } from './inbound-message.js';

/** Reaction access of one account. */
export interface ReactionAccount {
  readonly apiBase: string;
  readonly robotCode: string;
  readonly tokens: AccessTokenCache;
}

/** Puts and takes back the "working" reaction on a user's message; failures are ignored quietly. */
export interface ReactionService {
  add(message: InboundMessage, name: string): Promise<void>;
  recall(message: InboundMessage, name: string): Promise<void>;
}

/**
 * {@link ReactionService} over DingTalk's (unofficial) emotion API. A reaction is decoration: a
 * failure is logged at debug and nothing else happens.
 */
export function createReactionService(
  http: DingTalkHttp,
  accounts: ReadonlyMap<string, ReactionAccount>,
  logger: Logger,
): ReactionService {
  const log = logger.child({ component: 'reactions' });
  const call = async (action: typeof addReaction, message: InboundMessage, name: string): Promise<void> => {
    const account = accounts.get(message.accountId);
    if (account === undefined) return;
    try {
      await action({
        http,
        apiBase: account.apiBase,
        tokens: account.tokens,
        robotCode: account.robotCode,
        openMsgId: message.msgId,
        openConversationId: message.conversationId,
        emotionName: name,
      });
    } catch (error) {
      log.debug({ error: describeCause(error) }, 'reaction call failed (ignored)');
    }
  };
  return {
    add: (message, name) => call(addReaction, message, name),
    recall: (message, name) => call(recallReaction, message, name),
  };
}
