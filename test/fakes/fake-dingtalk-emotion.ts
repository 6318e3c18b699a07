/**
 * Reaction half of the fake DingTalk (reference §7.5, unofficial): `POST /v1.0/robot/emotion/reply` and
 * `POST /v1.0/robot/emotion/recall`, with the body the community plugin sends, reactions recorded per
 * `openMsgId`, and scripted failures (5xx `system.err` is common in production).
 */
import { apiError } from './fake-dingtalk-answers.js';
import { isNonEmptyString, isRecord, type FakeDingTalkState } from './fake-dingtalk-state.js';
import type { ApiRequestView, ScriptedResponse } from './fake-dingtalk-types.js';

/** `reply` puts a reaction on a message, `recall` takes it back. */
export type EmotionAction = 'reply' | 'recall';

/** One reaction put on a message; recalling it sets `recalledAtMs`. */
export interface RecordedReaction {
  readonly openMsgId: string;
  readonly openConversationId: string;
  readonly emotionName: string;
  readonly emotionId: string;
  readonly robotCode: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly addedAtMs: number;
  readonly recalledAtMs: number | undefined;
}

/** Every reply/recall call, accepted, refused or scripted. */
export interface RecordedEmotionCall {
  readonly action: EmotionAction;
  readonly openMsgId: string | undefined;
  readonly body: unknown;
  /** 0 when a script destroyed the socket. */
  readonly status: number;
  readonly response: unknown;
  readonly isScripted: boolean;
  /** For an accepted recall: whether an active reaction was taken back (a stray recall still succeeds). */
  readonly hasMatched: boolean | undefined;
  readonly atMs: number;
}

/** What an emotion script sees: the request, its action, and a 1-based counter including this call. */
export interface EmotionRequestView extends ApiRequestView {
  readonly action: EmotionAction;
  readonly openMsgId: string | undefined;
  readonly callNumber: number;
}

/** Fault-injection hook for the reaction calls; `undefined` = default behaviour. */
export type EmotionScriptHandler = (
  request: EmotionRequestView,
) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

// The answer shape of these calls is unknown; the common `{success, result}` of card calls is used.
const OK_ANSWER: ScriptedResponse = { status: 200, body: { success: true, result: true } };

interface ReactionRecord extends RecordedReaction {
  recalledAtMs: number | undefined;
}

/**
 * Reactions of one fake. `isValidToken` is the fake's access-token check.
 * @internal
 */
export class FakeDingTalkEmotions {
  readonly calls: RecordedEmotionCall[] = [];
  readonly #state: FakeDingTalkState;
  readonly #isValidToken: (token: unknown) => boolean;
  readonly #reactions: ReactionRecord[] = [];
  #script: EmotionScriptHandler | undefined;
  #callCount = 0;

  constructor(state: FakeDingTalkState, isValidToken: (token: unknown) => boolean) {
    this.#state = state;
    this.#isValidToken = isValidToken;
  }

  /** Every reaction put on any message, in order, recalled ones included. */
  get reactions(): readonly RecordedReaction[] {
    return this.#reactions;
  }

  /** Reactions put on `openMsgId`, in order. */
  reactionsOn(openMsgId: string): RecordedReaction[] {
    return this.#reactions.filter((reaction) => reaction.openMsgId === openMsgId);
  }

  /** Reactions on `openMsgId` not recalled yet. */
  activeReactions(openMsgId: string): RecordedReaction[] {
    return this.reactionsOn(openMsgId).filter((reaction) => reaction.recalledAtMs === undefined);
  }

  /** Scripts reply/recall answers; a handler result of `undefined` keeps the default behaviour. */
  script(handler: EmotionScriptHandler | undefined): void {
    this.#script = handler;
  }

  /** Resolves with the first reaction on `openMsgId` that is `added` (at all) or `recalled`. */
  waitForReaction(
    openMsgId: string,
    state: 'added' | 'recalled',
    timeoutMs = 5_000,
  ): Promise<RecordedReaction> {
    return this.#state.waitFor(
      () =>
        this.reactionsOn(openMsgId).find(
          (reaction) => state === 'added' || reaction.recalledAtMs !== undefined,
        ),
      timeoutMs,
      () => `a ${state} reaction on ${openMsgId} (have ${this.reactionsOn(openMsgId).length})`,
    );
  }

  /** Answers one call of `action` (the route maps the path) and records it. */
  async handle(view: ApiRequestView, action: EmotionAction): Promise<ScriptedResponse> {
    const body = isRecord(view.body) ? view.body : {};
    const openMsgId = isNonEmptyString(body['openMsgId']) ? body['openMsgId'] : undefined;
    const callNumber = ++this.#callCount;
    const scripted = await this.#script?.({ ...view, action, openMsgId, callNumber });
    let hasMatched: boolean | undefined;
    let answer = scripted;
    if (answer === undefined) {
      const outcome = this.#answer(action, body, view.headers['x-acs-dingtalk-access-token']);
      answer = outcome.answer;
      hasMatched = outcome.hasMatched;
    }
    this.calls.push({
      action,
      openMsgId,
      body: view.body,
      status: 'destroySocket' in answer ? 0 : answer.status,
      response: 'destroySocket' in answer ? undefined : answer.body,
      isScripted: scripted !== undefined,
      hasMatched,
      atMs: Date.now(),
    });
    return answer;
  }

  #answer(
    action: EmotionAction,
    body: Record<string, unknown>,
    token: unknown,
  ): { answer: ScriptedResponse; hasMatched?: boolean } {
    const { options } = this.#state;
    if (!this.#isValidToken(token)) {
      return {
        answer: apiError(options.invalidTokenStatus, 'InvalidAuthentication', '不合法的access_token'),
      };
    }
    const { robotCode, openMsgId, openConversationId, emotionName, textEmotion } = body;
    if (!isNonEmptyString(robotCode)) {
      return { answer: apiError(400, 'invalidParameter.robotCode.empty', 'robotCode 为空') };
    }
    if (robotCode !== options.clientId) {
      return { answer: apiError(400, 'invalidParameter.robotCode.invalid', 'robotCode 不合法') };
    }
    const emotionId = isRecord(textEmotion) ? textEmotion['emotionId'] : undefined;
    if (
      !isNonEmptyString(openMsgId) ||
      !isNonEmptyString(openConversationId) ||
      !isNonEmptyString(emotionName) ||
      !isNonEmptyString(emotionId)
    ) {
      return {
        answer: apiError(
          400,
          'invalidParameter',
          'openMsgId, openConversationId, emotionName and textEmotion.emotionId are required',
        ),
      };
    }
    const active = this.#reactions.find(
      (reaction) =>
        reaction.openMsgId === openMsgId &&
        reaction.emotionName === emotionName &&
        reaction.recalledAtMs === undefined,
    );
    if (action === 'recall') {
      if (active !== undefined) active.recalledAtMs = Date.now();
      return { answer: OK_ANSWER, hasMatched: active !== undefined };
    }
    // A second identical reaction on the same message is not shown twice.
    if (active === undefined) {
      this.#reactions.push({
        openMsgId,
        openConversationId,
        emotionName,
        emotionId,
        robotCode,
        body,
        addedAtMs: Date.now(),
        recalledAtMs: undefined,
      });
    }
    return { answer: OK_ANSWER };
  }
}
