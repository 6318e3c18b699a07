import { afterEach, describe, expect, it } from 'vitest';

import { callFake, fakeAccessToken, type RawAnswer } from '../helpers/dingtalk-api.js';
import { cardFaults, FakeDingTalk } from './fake-dingtalk.js';

const REPLY = 'POST /v1.0/robot/emotion/reply';
const RECALL = 'POST /v1.0/robot/emotion/recall';

let fake: FakeDingTalk | undefined;
let token: string;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function startFake(): Promise<FakeDingTalk> {
  fake = await FakeDingTalk.start();
  token = await fakeAccessToken(fake);
  return fake;
}

/** One JSON call with the test's access token; `route` is `METHOD /path`. */
function call(
  target: FakeDingTalk,
  route: string,
  body: unknown,
  headers: Record<string, string> = { 'x-acs-dingtalk-access-token': token },
): Promise<RawAnswer> {
  return callFake(target, route, body, headers);
}

describe('fake emotions', () => {
  function reactionBody(openMsgId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      robotCode: 'ding-test-client',
      openMsgId,
      openConversationId: 'cid1==',
      emotionType: 2,
      emotionName: '思考中',
      textEmotion: { emotionId: '2659900', emotionName: '思考中', text: '思考中', backgroundId: 'im_bg_1' },
      ...overrides,
    };
  }

  it('records reactions per message, added then recalled', async () => {
    const f = await startFake();
    expect((await call(f, REPLY, reactionBody('m1'))).body).toEqual({ success: true, result: true });
    await call(f, REPLY, reactionBody('m1'));
    await call(f, REPLY, reactionBody('m2'));

    expect(f.emotions.activeReactions('m1')).toHaveLength(1);
    expect(f.emotions.reactions).toHaveLength(2);

    await call(f, RECALL, reactionBody('m1'));
    const recalled = await f.emotions.waitForReaction('m1', 'recalled');

    expect(recalled).toMatchObject({
      emotionName: '思考中',
      emotionId: '2659900',
      openConversationId: 'cid1==',
    });
    expect(f.emotions.activeReactions('m1')).toEqual([]);
    expect(f.emotions.activeReactions('m2')).toHaveLength(1);
  });

  it('accepts a stray recall and says it matched nothing', async () => {
    const f = await startFake();
    expect((await call(f, RECALL, reactionBody('m9'))).status).toBe(200);
    expect(f.emotions.calls).toMatchObject([{ action: 'recall', openMsgId: 'm9', hasMatched: false }]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no robotCode', { robotCode: '' }, 'invalidParameter.robotCode.empty'],
    ['a foreign robotCode', { robotCode: 'x' }, 'invalidParameter.robotCode.invalid'],
    ['no openMsgId', { openMsgId: '' }, 'invalidParameter'],
    ['no textEmotion', { textEmotion: undefined }, 'invalidParameter'],
  ])('refuses %s', async (_name, overrides, code) => {
    const f = await startFake();
    const answer = await call(f, REPLY, reactionBody('m1', overrides));

    expect(answer).toMatchObject({ status: 400, body: { code } });
    expect(f.emotions.reactions).toEqual([]);
  });

  it('refuses an invalid token and runs scripts', async () => {
    const f = await startFake();
    const badToken = await call(f, REPLY, reactionBody('m1'), { 'x-acs-dingtalk-access-token': 'nope' });
    f.emotions.script(({ action, callNumber }) =>
      action === 'reply' && callNumber === 2 ? cardFaults.serverError() : undefined,
    );
    const scripted = await call(f, REPLY, reactionBody('m1'));

    expect(badToken.body['code']).toBe('InvalidAuthentication');
    expect(scripted).toMatchObject({ status: 500, body: { code: 'system.err' } });
    expect(f.emotions.calls.map((c) => c.isScripted)).toEqual([false, true]);
    expect(f.emotions.reactions).toEqual([]);
  });
});
