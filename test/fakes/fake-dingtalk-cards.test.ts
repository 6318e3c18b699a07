import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import { callFake, fakeAccessToken, type RawAnswer } from '../helpers/dingtalk-api.js';
import { cardFaults, FAKE_AI_CARD_TEMPLATE_IDS, FakeDingTalk } from './fake-dingtalk.js';
import type { FakeDingTalkOptions } from './fake-dingtalk.js';

const CREATE = 'POST /v1.0/card/instances/createAndDeliver';
const UPDATE = 'PUT /v1.0/card/instances';
const STREAM = 'PUT /v1.0/card/streaming';

let fake: FakeDingTalk | undefined;
let token: string;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function startFake(options: FakeDingTalkOptions = {}): Promise<FakeDingTalk> {
  fake = await FakeDingTalk.start(options);
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

function createBody(outTrackId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cardTemplateId: FAKE_AI_CARD_TEMPLATE_IDS[0],
    outTrackId,
    cardData: { cardParamMap: { flowStatus: '1', msgContent: '' } },
    callbackType: 'STREAM',
    userIdType: 1,
    openSpaceId: 'dtv1.card//IM_GROUP.cid1==',
    imGroupOpenSpaceModel: { supportForward: true },
    imGroupOpenDeliverModel: { robotCode: 'ding-test-client' },
    ...overrides,
  };
}

function streamBody(outTrackId: string, content: string, extra: Record<string, unknown> = {}): unknown {
  return { outTrackId, guid: `g-${Math.random()}`, key: 'msgContent', content, isFull: true, ...extra };
}

describe('fake cards: createAndDeliver', () => {
  it('creates and delivers to a group and a DM in one call', async () => {
    const f = await startFake();
    const answer = await call(
      f,
      CREATE,
      createBody('c1', {
        openSpaceId: 'dtv1.card//im_group.cid1==;im_robot.user1',
        imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: 'ding-test-client' },
      }),
    );

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      result: {
        outTrackId: 'c1',
        deliverResults: [
          {
            spaceType: 'IM_GROUP',
            spaceId: 'cid1==',
            success: true,
            carrierId: expect.any(String) as string,
          },
          { spaceType: 'IM_ROBOT', spaceId: 'user1', success: true },
        ],
      },
    });
    expect(f.cards.get('c1')).toMatchObject({
      templateId: FAKE_AI_CARD_TEMPLATE_IDS[0],
      flowStatus: '1',
      flowStatusHistory: ['1'],
      text: '',
    });
    expect(f.cards.instances.size).toBe(1);
  });

  it.each<[string, Record<string, unknown>, number, string]>([
    ['no outTrackId', { outTrackId: '' }, 400, 'param.outTrackIdEmpty'],
    ['no template', { cardTemplateId: undefined }, 400, 'param.cardTemplateIdEmpty'],
    ['an unknown template', { cardTemplateId: 'x.schema' }, 400, 'param.cardTemplateIdInvalid'],
    [
      'a number in cardParamMap',
      { cardData: { cardParamMap: { flowStatus: 1 } } },
      400,
      'param.cardDataInvalid',
    ],
    [
      'an object in cardParamMap',
      { cardData: { cardParamMap: { config: {} } } },
      400,
      'param.cardDataInvalid',
    ],
    ['a bad openSpaceId', { openSpaceId: 'IM_GROUP.cid1==' }, 400, 'param.openSpaceModelInvalid'],
    ['an unsupported space', { openSpaceId: 'dtv1.card//ONE_BOX.x' }, 400, 'param.openSpaceModelInvalid'],
    ['no deliver model', { imGroupOpenDeliverModel: undefined }, 400, 'param.openSpaceModelInvalid'],
    ['a bad userIdType', { userIdType: 3 }, 400, 'param.userIdTypeInvalid'],
    ['a bad callbackType', { callbackType: 'WS' }, 400, 'param.callbackTypeInvalid'],
  ])('refuses %s', async (_name, overrides, status, code) => {
    const f = await startFake();
    const answer = await call(f, CREATE, createBody('c1', overrides));

    expect(answer).toMatchObject({ status, body: { code, requestid: expect.any(String) as string } });
    expect(f.cards.instances.size).toBe(0);
    expect(f.cards.calls).toMatchObject([{ kind: 'create', status, isScripted: false }]);
  });

  it('refuses a DM deliver model without spaceType IM_ROBOT', async () => {
    const f = await startFake();
    const answer = await call(
      f,
      CREATE,
      createBody('c1', {
        openSpaceId: 'dtv1.card//IM_ROBOT.user1',
        imRobotOpenDeliverModel: { robotCode: 'ding-test-client' },
      }),
    );

    expect(answer.body['code']).toBe('param.openSpaceModelInvalid');
  });

  it('refuses a second card with the same outTrackId', async () => {
    const f = await startFake();
    await call(f, CREATE, createBody('c1'));

    expect((await call(f, CREATE, createBody('c1'))).body['code']).toBe('param.outTrackIdDuplicated');
  });

  it('refuses an invalid token and a non-JSON body', async () => {
    const f = await startFake();
    const badToken = await call(f, CREATE, createBody('c1'), { 'x-acs-dingtalk-access-token': 'nope' });
    const response = await request(`${f.baseUrl}/v1.0/card/streaming`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });

    expect(badToken).toMatchObject({ status: 400, body: { code: 'InvalidAuthentication' } });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ code: 'MissingBody' });
  });

  it('accepts registered templates only, the public ones until unregistered', async () => {
    const f = await startFake();
    f.cards.registerTemplate('mine.schema', { streamingKeys: ['answer'] });
    f.cards.unregisterTemplate(FAKE_AI_CARD_TEMPLATE_IDS[0]);

    expect((await call(f, CREATE, createBody('c1', { cardTemplateId: 'mine.schema' }))).status).toBe(200);
    expect((await call(f, CREATE, createBody('c2'))).body['code']).toBe('param.cardTemplateIdInvalid');
    expect(
      (await call(f, CREATE, createBody('c3', { cardTemplateId: FAKE_AI_CARD_TEMPLATE_IDS[1] }))).status,
    ).toBe(200);
    expect((await call(f, STREAM, { ...(streamBody('c1', 'x') as object), key: 'answer' })).status).toBe(200);
    expect((await call(f, STREAM, streamBody('c1', 'x'))).body['code']).toBe('param.streamingKeyInvalid');
    expect(f.cards.get('c1')?.text).toBe('x');
  });

  it('reports a failing space or a foreign robotCode inside a 200', async () => {
    const f = await startFake();
    f.cards.failDeliveryTo('cid1==', 'no permission in this group');
    const failing = await call(f, CREATE, createBody('c1'));
    const foreign = await call(
      f,
      CREATE,
      createBody('c2', {
        openSpaceId: 'dtv1.card//IM_GROUP.cid2',
        imGroupOpenDeliverModel: { robotCode: 'x' },
      }),
    );

    expect(failing).toMatchObject({
      status: 200,
      body: { result: { deliverResults: [{ success: false, errorMsg: 'no permission in this group' }] } },
    });
    expect(foreign.body).toMatchObject({ result: { deliverResults: [{ success: false }] } });
    expect(f.cards.get('c1')?.spaces[0]).toMatchObject({ isDelivered: false });
  });
});

describe('fake cards: updates', () => {
  it('records the whole history of one reply', async () => {
    const f = await startFake();
    await call(f, CREATE, createBody('c1'));
    await call(f, UPDATE, {
      outTrackId: 'c1',
      cardData: { cardParamMap: { flowStatus: '2' } },
      cardUpdateOptions: { updateCardDataByKey: true },
    });
    await call(f, STREAM, streamBody('c1', 'Hel'));
    await call(f, STREAM, streamBody('c1', 'lo', { isFull: false }));
    await call(f, STREAM, streamBody('c1', 'Hello.', { isFinalize: true }));
    await call(f, UPDATE, {
      outTrackId: 'c1',
      cardData: { cardParamMap: { flowStatus: '3', msgContent: 'Hello.' } },
      cardUpdateOptions: { updateCardDataByKey: true },
    });
    const waited = await f.cards.waitForCard((card) => card.flowStatus === '3');

    expect(waited.outTrackId).toBe('c1');
    expect(waited).toMatchObject({
      text: 'Hello.',
      data: { flowStatus: '3', msgContent: 'Hello.' },
      flowStatusHistory: ['1', '2', '3'],
      contentHistory: ['', 'Hel', 'Hello', 'Hello.', 'Hello.'],
      isError: false,
    });
    expect(waited.finalizedKeys).toEqual(new Set(['msgContent']));
    expect(waited.updates.map((u) => u.kind)).toEqual([
      'create',
      'update',
      'streaming',
      'streaming',
      'streaming',
      'update',
    ]);
    expect(waited.streaming.map((s) => s.isFull)).toEqual([true, false, true]);
    expect(f.cards.callsFor('c1')).toHaveLength(6);
  });

  it('replaces the card data unless updateCardDataByKey is set', async () => {
    const f = await startFake();
    await call(f, CREATE, createBody('c1'));
    await call(f, UPDATE, { outTrackId: 'c1', cardData: { cardParamMap: { msgTitle: 't' } } });

    expect(f.cards.get('c1')?.data).toEqual({ msgTitle: 't' });
    expect(f.cards.get('c1')?.flowStatus).toBeUndefined();
  });

  it('ignores a repeated guid and records the error state', async () => {
    const f = await startFake();
    await call(f, CREATE, createBody('c1'));
    const body = streamBody('c1', 'once');
    await call(f, STREAM, body);
    const again = await call(f, STREAM, { ...(body as object), content: 'twice', isError: true });

    expect(again.status).toBe(200);
    expect(f.cards.get('c1')).toMatchObject({ text: 'once', isError: false });
    expect(f.cards.get('c1')?.streaming.map((s) => s.isDuplicate)).toEqual([false, true]);

    await call(f, STREAM, streamBody('c1', 'broken', { isError: true }));
    expect(f.cards.get('c1')).toMatchObject({ text: 'broken', isError: true });
  });

  it.each<[string, string, unknown, string]>([
    [
      'an update of an unknown card',
      UPDATE,
      { outTrackId: 'zz', cardData: { cardParamMap: {} } },
      'param.outTrackIdNotExist',
    ],
    ['an update without outTrackId', UPDATE, { cardData: { cardParamMap: {} } }, 'param.outTrackIdEmpty'],
    [
      'an update with a number value',
      UPDATE,
      { outTrackId: 'c1', cardData: { cardParamMap: { a: 2 } } },
      'param.cardDataInvalid',
    ],
    ['an update with no data', UPDATE, { outTrackId: 'c1' }, 'param.cardDataInvalid'],
    ['streaming to an unknown card', STREAM, streamBody('zz', 'x'), 'param.outTrackIdNotExist'],
    [
      'streaming a non-streaming key',
      STREAM,
      { ...(streamBody('c1', 'x') as object), key: 'msgTitle' },
      'param.streamingKeyInvalid',
    ],
    ['streaming without guid', STREAM, { ...(streamBody('c1', 'x') as object), guid: '' }, 'param.guidEmpty'],
    [
      'streaming a number',
      STREAM,
      { ...(streamBody('c1', 'x') as object), content: 5 },
      'param.contentInvalid',
    ],
    [
      'streaming without isFull',
      STREAM,
      { ...(streamBody('c1', 'x') as object), isFull: undefined },
      'param.invalid',
    ],
  ])('refuses %s', async (_name, route, body, code) => {
    const f = await startFake();
    await call(f, CREATE, createBody('c1'));
    const answer = await call(f, route, body);

    expect(answer).toMatchObject({ status: 400, body: { code } });
    expect(f.cards.get('c1')?.updates).toHaveLength(1);
  });
});

describe('fake cards: throttling and scripts', () => {
  it('answers 403 QpsLimit above cardQpsLimit per sliding second, counting accepted calls only', async () => {
    const f = await startFake({ cardQpsLimit: 2 });
    await call(f, CREATE, createBody('c1'));
    await call(f, STREAM, streamBody('c1', 'a'));
    const limited = await call(f, STREAM, streamBody('c1', 'ab'));

    expect(limited).toMatchObject({
      status: 403,
      body: { code: expect.stringMatching(/QpsLimit/) as string },
    });
    expect(f.cards.get('c1')?.text).toBe('a');

    f.cards.setQpsLimit(undefined);
    expect((await call(f, STREAM, streamBody('c1', 'abc'))).status).toBe(200);
  });

  it('scripts the Nth call of a kind and records it as scripted', async () => {
    const f = await startFake();
    f.cards.script(({ kind, kindNumber, callNumber }) => {
      if (kind === 'streaming' && kindNumber === 2) return cardFaults.qpsLimit();
      return callNumber === 99 ? cardFaults.serverError() : undefined;
    });
    await call(f, CREATE, createBody('c1'));
    await call(f, STREAM, streamBody('c1', 'a'));
    const faulted = await call(f, STREAM, streamBody('c1', 'ab'));
    await call(f, STREAM, streamBody('c1', 'abc'));

    expect(faulted.status).toBe(403);
    expect(f.cards.calls.map((c) => [c.kind, c.status, c.isScripted])).toEqual([
      ['create', 200, false],
      ['streaming', 200, false],
      ['streaming', 403, true],
      ['streaming', 200, false],
    ]);
    expect(f.cards.get('c1')?.contentHistory).toEqual(['', 'a', 'abc']);
  });

  it('scripts a permission error on create', async () => {
    const f = await startFake();
    f.cards.script(({ kind }) =>
      kind === 'create' ? cardFaults.permission('Card.Instance.Write') : undefined,
    );
    const answer = await call(f, CREATE, createBody('c1'));

    expect(answer).toMatchObject({
      status: 403,
      body: { code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied' },
    });
    expect(String(answer.body['message'])).toContain('Card.Instance.Write');
    expect(f.cards.get('c1')).toBeUndefined();
  });
});
