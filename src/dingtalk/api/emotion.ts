import { callOpenApi, checkSuccess, type OpenApiContext, type OpenApiOperation } from './openapi-call.js';

/**
 * Path (under `apiBase`) and endpoint name (for errors and metrics) of the two reaction calls. The
 * API is unofficial (dingtalk-protocol.md §7.5): only community bots use it.
 */
export const EMOTION_ENDPOINTS = {
  reply: { method: 'POST', path: '/v1.0/robot/emotion/reply', endpoint: 'robot/emotion/reply' },
  recall: { method: 'POST', path: '/v1.0/robot/emotion/recall', endpoint: 'robot/emotion/recall' },
} as const satisfies Record<string, OpenApiOperation>;

/** Text-reaction ids seen in production (§7.5); DingTalk publishes no catalogue. */
export const DEFAULT_EMOTION_ID = '2659900';
export const DEFAULT_EMOTION_BACKGROUND_ID = 'im_bg_1';

// `emotionType` of a text reaction, the only kind known to work for bots.
const TEXT_EMOTION_TYPE = 2;

export interface ReactionOptions extends OpenApiContext {
  readonly robotCode: string;
  /** The `msgId` of the user's message. */
  readonly openMsgId: string;
  /** The `conversationId` the message came from. */
  readonly openConversationId: string;
  /** Also the reaction's text, e.g. a short "thinking" label. */
  readonly emotionName: string;
  /** @defaultValue {@link DEFAULT_EMOTION_ID} */
  readonly emotionId?: string | undefined;
  /** @defaultValue {@link DEFAULT_EMOTION_BACKGROUND_ID} */
  readonly backgroundId?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The JSON body shared by reply and recall (§7.5). */
export function reactionBody(options: ReactionOptions): Record<string, unknown> {
  return {
    robotCode: options.robotCode,
    openMsgId: options.openMsgId,
    openConversationId: options.openConversationId,
    emotionType: TEXT_EMOTION_TYPE,
    emotionName: options.emotionName,
    textEmotion: {
      emotionId: options.emotionId ?? DEFAULT_EMOTION_ID,
      emotionName: options.emotionName,
      text: options.emotionName,
      backgroundId: options.backgroundId ?? DEFAULT_EMOTION_BACKGROUND_ID,
    },
  };
}

/**
 * Puts a text reaction on a user's message (`POST /v1.0/robot/emotion/reply`). Nothing is retried
 * except one token refresh. Throws `DingTalkApiError` (also for a 200 saying `success: false`) or
 * `DingTalkTransportError`; transient 5xx answers are common, and callers are expected to ignore
 * failures, since a missing reaction loses nothing.
 */
export function addReaction(options: ReactionOptions): Promise<void> {
  return callEmotionApi(options, 'reply');
}

/** Takes the reaction back (`POST /v1.0/robot/emotion/recall`, same body). Failures as {@link addReaction}. */
export function recallReaction(options: ReactionOptions): Promise<void> {
  return callEmotionApi(options, 'recall');
}

async function callEmotionApi(options: ReactionOptions, call: keyof typeof EMOTION_ENDPOINTS): Promise<void> {
  const operation = EMOTION_ENDPOINTS[call];
  checkSuccess(operation.endpoint, await callOpenApi(options, operation, reactionBody(options)));
}
