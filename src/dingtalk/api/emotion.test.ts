import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cardFaults, type FakeDingTalk } from '../../../test/fakes/fake-dingtalk.js';
import {
  type DingTalkApiHarness,
  rejectionOf as rejected,
  startDingTalkApi,
} from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import {
  addReaction,
  DEFAULT_EMOTION_BACKGROUND_ID,
  DEFAULT_EMOTION_ID,
  reactionBody,
  recallReaction,
  type ReactionOptions,
} from './emotion.js';

const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const REPLY_PATH = '/v1.0/robot/emotion/reply';
const RECALL_PATH = '/v1.0/robot/emotion/recall';
const THINKING = '思考中';

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let reaction: ReactionOptions;
let calls: string[];

beforeEach(async () => {
  api = await startDingTalkApi();
  ({ fake, calls } = api);
  reaction = {
    http: api.http,
    apiBase: fake.baseUrl,
    tokens: api.tokens,
    robotCode: fake.options.clientId,
    openMsgId: 'msgA1',
    openConversationId: 'cidAsXSBLnA==',
    emotionName: THINKING,
  };
});

afterEach(() => api.close());

/** The rejection of `promise`, checked to mention no access token. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const error = await rejected(promise);
  for (const token of fake.issuedAccessTokens) expect((error as Error).message).not.toContain(token);
  return error;
}

describe('reactionBody', () => {
  it('builds a text reaction with the production ids by default', () => {
    expect(reactionBody({ ...reaction, robotCode: 'bot' })).toStrictEqual({
      robotCode: 'bot',
      openMsgId: 'msgA1',
      openConversationId: 'cidAsXSBLnA==',
      emotionType: 2,
      emotionName: THINKING,
      textEmotion: {
        emotionId: DEFAULT_EMOTION_ID,
        emotionName: THINKING,
        text: THINKING,
        backgroundId: DEFAULT_EMOTION_BACKGROUND_ID,
      },
    });
  });

  it('takes a custom emotion and background id', () => {
    expect(reactionBody({ ...reaction, emotionId: '42', backgroundId: 'im_bg_2' })).toMatchObject({
      textEmotion: { emotionId: '42', backgroundId: 'im_bg_2' },
    });
  });
});

describe('addReaction and recallReaction', () => {
  it('puts a reaction on the message and takes it back', async () => {
    await addReaction(reaction);

    expect(fake.emotions.activeReactions('msgA1')).toMatchObject([
      { emotionName: THINKING, emotionId: DEFAULT_EMOTION_ID, openConversationId: 'cidAsXSBLnA==' },
    ]);

    await recallReaction(reaction);

    const [reply] = await fake.waitForApiRequests(REPLY_PATH, 1);
    const [recall] = await fake.waitForApiRequests(RECALL_PATH, 1);
    expect(reply?.method).toBe('POST');
    expect(reply?.headers['x-acs-dingtalk-access-token']).toBe(fake.issuedAccessTokens[0]);
    expect(reply?.body).toStrictEqual(reactionBody(reaction));
    expect(recall?.body).toStrictEqual(reactionBody(reaction));
    expect(fake.emotions.activeReactions('msgA1')).toEqual([]);
    expect(fake.emotions.reactionsOn('msgA1')[0]?.recalledAtMs).toEqual(expect.any(Number));
    expect(calls).toEqual(['oauth2/accessToken 200', 'robot/emotion/reply 200', 'robot/emotion/recall 200']);
  });

  it('refreshes an invalidated token once', async () => {
    await addReaction(reaction);
    fake.invalidateAccessTokens();

    await recallReaction(reaction);

    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expect(api.requestsTo(RECALL_PATH)).toBe(2);
    expect(fake.emotions.activeReactions('msgA1')).toEqual([]);
  });

  it('reports a 5xx system.err as a retryable DingTalkApiError', async () => {
    fake.emotions.script(() => cardFaults.serverError());
    const error = await rejectionOf(addReaction(reaction));

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({
      endpoint: 'robot/emotion/reply',
      status: 500,
      apiCode: 'system.err',
      retryable: true,
    });
    expect(fake.emotions.reactions).toEqual([]);
  });

  it('reports a refused parameter as non-retryable', async () => {
    const error = await rejectionOf(recallReaction({ ...reaction, robotCode: 'not-the-robot' }));

    expect(error).toMatchObject({
      endpoint: 'robot/emotion/recall',
      status: 400,
      apiCode: 'invalidParameter.robotCode.invalid',
      retryable: false,
    });
  });

  it('refuses a 200 that says success: false', async () => {
    fake.emotions.script(() => ({ status: 200, body: { success: false } }));
    const error = await rejectionOf(addReaction(reaction));

    expect(error).toMatchObject({ status: 200, retryable: false, endpoint: 'robot/emotion/reply' });
  });

  it('maps an unreachable API to a transport error', async () => {
    fake.emotions.script(() => ({ destroySocket: true }));
    const error = await rejectionOf(addReaction(reaction));

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect(calls.at(-1)).toBe('robot/emotion/reply transport');
  });
});
