import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  cardFaults,
  type FakeDingTalk,
  type FakeDingTalkOptions,
} from '../../../test/fakes/fake-dingtalk.js';
import {
  type DingTalkApiHarness,
  rejectionOf as rejected,
  startDingTalkApi,
} from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import {
  AI_CARD_FLOW_STATUS,
  type CardApiContext,
  type CardTarget,
  classifyCardError,
  createAndDeliverCard,
  PUBLIC_AI_CARD_TEMPLATE_IDS,
  streamCardContent,
  updateCard,
} from './card-api.js';

const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const CREATE_PATH = '/v1.0/card/instances/createAndDeliver';
const STREAMING_PATH = '/v1.0/card/streaming';
const INSTANCES_PATH = '/v1.0/card/instances';
const TEMPLATE_ID = PUBLIC_AI_CARD_TEMPLATE_IDS[0];

const DM: CardTarget = { kind: 'dm', userId: 'manager807' };
const GROUP: CardTarget = { kind: 'group', openConversationId: 'cidAsXSBLnA==' };

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let context: CardApiContext;
let calls: string[];

async function setUp(options: FakeDingTalkOptions = {}): Promise<void> {
  api = await startDingTalkApi(options);
  ({ fake, calls } = api);
  context = { http: api.http, apiBase: fake.baseUrl, tokens: api.tokens };
}

beforeEach(async () => {
  await setUp();
});

afterEach(() => api.close());

function create(
  outTrackId = 'card-1',
  target: CardTarget = DM,
  overrides: { templateId?: string; robotCode?: string } = {},
): ReturnType<typeof createAndDeliverCard> {
  return createAndDeliverCard({
    ...context,
    robotCode: overrides.robotCode ?? fake.options.clientId,
    templateId: overrides.templateId ?? TEMPLATE_ID,
    outTrackId,
    target,
    cardParamMap: { flowStatus: AI_CARD_FLOW_STATUS.processing, msgContent: '' },
  });
}

/** The rejection of `promise`, checked to mention neither the app secret nor an access token. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const error = await rejected(promise);
  const texts = [(error as Error).message, error instanceof DingTalkApiError ? error.bodySnippet : ''];
  for (const text of texts) {
    expect(text).not.toContain(fake.options.clientSecret);
    for (const token of fake.issuedAccessTokens) expect(text).not.toContain(token);
  }
  return error;
}

describe('createAndDeliverCard', () => {
  it('delivers to a DM through IM_ROBOT', async () => {
    const delivery = await create('card-dm', DM);

    const [request] = await fake.waitForApiRequests(CREATE_PATH, 1);
    expect(request?.method).toBe('POST');
    expect(request?.headers['x-acs-dingtalk-access-token']).toBe(fake.issuedAccessTokens[0]);
    expect(request?.body).toStrictEqual({
      cardTemplateId: TEMPLATE_ID,
      outTrackId: 'card-dm',
      cardData: { cardParamMap: { flowStatus: '1', msgContent: '' } },
      callbackType: 'STREAM',
      userIdType: 1,
      openSpaceId: 'dtv1.card//IM_ROBOT.manager807',
      imRobotOpenSpaceModel: { supportForward: true },
      imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: fake.options.clientId },
    });
    expect(delivery.outTrackId).toBe('card-dm');
    expect(delivery.carrierId).toEqual(expect.any(String));
    expect(fake.cards.get('card-dm')).toMatchObject({
      flowStatus: '1',
      spaces: [{ spaceType: 'IM_ROBOT', spaceId: 'manager807', isDelivered: true }],
    });
    expect(calls).toEqual(['oauth2/accessToken 200', 'card/createAndDeliver 200']);
  });

  it('delivers to a group through IM_GROUP', async () => {
    await create('card-group', GROUP);

    const [request] = await fake.waitForApiRequests(CREATE_PATH, 1);
    expect(request?.body).toStrictEqual({
      cardTemplateId: TEMPLATE_ID,
      outTrackId: 'card-group',
      cardData: { cardParamMap: { flowStatus: '1', msgContent: '' } },
      callbackType: 'STREAM',
      userIdType: 1,
      openSpaceId: 'dtv1.card//IM_GROUP.cidAsXSBLnA==',
      imGroupOpenSpaceModel: { supportForward: true },
      imGroupOpenDeliverModel: { robotCode: fake.options.clientId },
    });
    expect(fake.cards.get('card-group')?.spaces).toEqual([
      { spaceType: 'IM_GROUP', spaceId: 'cidAsXSBLnA==', isDelivered: true, errorMsg: undefined },
    ]);
  });

  it('refuses a 200 whose deliverResults report the space as failed', async () => {
    fake.cards.failDeliveryTo('cidAsXSBLnA==', 'robot is not a member of this group');
    const error = await rejectionOf(create('card-x', GROUP));

    expect(error).toBeInstanceOf(DingTalkApiError);
    expect(error).toMatchObject({
      endpoint: 'card/createAndDeliver',
      status: 200,
      apiCode: 'deliverFailed',
      retryable: false,
    });
    expect((error as Error).message).toContain('robot is not a member of this group');
    expect(classifyCardError(error)).toBe('other');
    expect(api.requestsTo(CREATE_PATH)).toBe(1);
  });

  it('refuses a delivery with a robotCode DingTalk does not know', async () => {
    const error = await rejectionOf(create('card-y', DM, { robotCode: 'someone-else' }));

    expect(error).toMatchObject({ apiCode: 'deliverFailed', retryable: false });
  });

  it('classifies an unknown template', async () => {
    const error = await rejectionOf(create('card-t', DM, { templateId: 'nope.schema' }));

    expect(error).toMatchObject({ status: 400, apiCode: 'param.cardTemplateIdInvalid', retryable: false });
    expect(classifyCardError(error)).toBe('template');
  });

  it('refuses a 200 that says success: false', async () => {
    fake.cards.script(() => ({ status: 200, body: { success: false, message: 'not today' } }));
    const error = await rejectionOf(create());

    expect(error).toMatchObject({ status: 200, retryable: false });
    expect((error as Error).message).toContain('not today');
  });
});

describe('the AI card flow', () => {
  it('creates, streams, finalizes and finishes one card', async () => {
    await create('card-flow', GROUP);
    await updateCard({ ...context, outTrackId: 'card-flow', cardParamMap: { flowStatus: '2' } });
    await streamCardContent({ ...context, outTrackId: 'card-flow', content: 'Hello' });
    await streamCardContent({ ...context, outTrackId: 'card-flow', content: 'Hello, world' });
    await streamCardContent({
      ...context,
      outTrackId: 'card-flow',
      content: 'Hello, world!',
      isFinalize: true,
    });
    await updateCard({
      ...context,
      outTrackId: 'card-flow',
      cardParamMap: { flowStatus: AI_CARD_FLOW_STATUS.finished, msgContent: 'Hello, world!' },
    });

    const card = fake.cards.get('card-flow');
    expect(card).toMatchObject({
      text: 'Hello, world!',
      flowStatus: '3',
      flowStatusHistory: ['1', '2', '3'],
      contentHistory: ['', 'Hello', 'Hello, world', 'Hello, world!', 'Hello, world!'],
      isError: false,
    });
    expect(card?.finalizedKeys.has('msgContent')).toBe(true);
    expect(card?.updates).toHaveLength(6);
    expect(fake.cards.callsFor('card-flow')).toHaveLength(6);
    expect(api.requestsTo(TOKEN_PATH)).toBe(1);
    expect(calls).toEqual([
      'oauth2/accessToken 200',
      'card/createAndDeliver 200',
      'card/instances 200',
      'card/streaming 200',
      'card/streaming 200',
      'card/streaming 200',
      'card/instances 200',
    ]);
  });

  it('sends streaming updates with the AI defaults and a new guid each time', async () => {
    await create('card-s');
    await streamCardContent({ ...context, outTrackId: 'card-s', content: 'a' });
    await streamCardContent({ ...context, outTrackId: 'card-s', content: 'ab', guid: 'my-guid' });

    const requests = fake.apiRequests.filter((r) => r.path === STREAMING_PATH);
    expect(requests.map((r) => r.method)).toEqual(['PUT', 'PUT']);
    expect(requests[0]?.headers['content-type']).toBe('application/json');
    expect(requests[0]?.body).toStrictEqual({
      outTrackId: 'card-s',
      guid: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      key: 'msgContent',
      content: 'a',
      isFull: true,
      isFinalize: false,
      isError: false,
    });
    expect(requests[1]?.body).toMatchObject({ guid: 'my-guid', content: 'ab' });
  });

  it('marks the error state', async () => {
    await create('card-e');
    await streamCardContent({ ...context, outTrackId: 'card-e', content: 'partial', isError: true });
    await updateCard({ ...context, outTrackId: 'card-e', cardParamMap: { flowStatus: '5' } });

    expect(fake.cards.get('card-e')).toMatchObject({ isError: true, flowStatus: '5', text: 'partial' });
  });

  it('updates by key unless told to replace the card data', async () => {
    await create('card-u');
    await updateCard({ ...context, outTrackId: 'card-u', cardParamMap: { msgTitle: 'T' } });
    expect(fake.cards.get('card-u')?.data).toEqual({ flowStatus: '1', msgContent: '', msgTitle: 'T' });

    await updateCard({
      ...context,
      outTrackId: 'card-u',
      cardParamMap: { flowStatus: '3' },
      updateByKey: false,
    });

    const bodies = fake.apiRequests.filter((r) => r.path === INSTANCES_PATH).map((r) => r.body);
    expect(bodies).toStrictEqual([
      {
        outTrackId: 'card-u',
        cardData: { cardParamMap: { msgTitle: 'T' } },
        cardUpdateOptions: { updateCardDataByKey: true },
      },
      {
        outTrackId: 'card-u',
        cardData: { cardParamMap: { flowStatus: '3' } },
        cardUpdateOptions: { updateCardDataByKey: false },
      },
    ]);
    expect(fake.cards.get('card-u')?.data).toEqual({ flowStatus: '3' });
  });

  it('refreshes an invalidated token once and carries on', async () => {
    await create('card-r');
    fake.invalidateAccessTokens();

    await streamCardContent({ ...context, outTrackId: 'card-r', content: 'after refresh' });

    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expect(api.requestsTo(STREAMING_PATH)).toBe(2);
    expect(fake.cards.get('card-r')?.text).toBe('after refresh');
    expect(calls.filter((c) => c.startsWith('card/streaming'))).toEqual([
      'card/streaming 400',
      'card/streaming 200',
    ]);
  });

  it('refuses a key the template does not stream', async () => {
    await create('card-k');
    const error = await rejectionOf(
      streamCardContent({ ...context, outTrackId: 'card-k', key: 'msgTitle', content: 'x' }),
    );

    expect(error).toMatchObject({ status: 400, apiCode: 'param.streamingKeyInvalid' });
    expect(classifyCardError(error)).toBe('other');
  });
});

describe('card failures against the fake', () => {
  it('answers 403 QpsLimit above the per-app limit, classified as throttled', async () => {
    await api.close();
    await setUp({ cardQpsLimit: 2 });
    await create('card-q');
    await streamCardContent({ ...context, outTrackId: 'card-q', content: 'a' });

    const error = await rejectionOf(streamCardContent({ ...context, outTrackId: 'card-q', content: 'ab' }));

    expect(error).toMatchObject({ status: 403, retryable: true });
    expect((error as DingTalkApiError).apiCode).toMatch(/QpsLimit/);
    expect(classifyCardError(error)).toBe('throttled');
    expect(fake.cards.get('card-q')?.text).toBe('a');
  });

  it.each([
    ['a scripted QpsLimit on the 2nd streaming call', cardFaults.qpsLimit(), 'throttled', true],
    ['a 429', cardFaults.tooManyRequests(), 'throttled', true],
    ['a missing Card.Streaming.Write scope', cardFaults.permission(), 'permission', false],
    ['a 500 system.err', cardFaults.serverError(), 'transient', true],
  ] as const)('classifies %s', async (_name, fault, expected, retryable) => {
    await create('card-f');
    fake.cards.script(({ kind, kindNumber }) =>
      kind === 'streaming' && kindNumber === 2 ? fault : undefined,
    );
    await streamCardContent({ ...context, outTrackId: 'card-f', content: 'one' });

    const error = await rejectionOf(streamCardContent({ ...context, outTrackId: 'card-f', content: 'two' }));

    expect(error).toMatchObject({ endpoint: 'card/streaming', retryable });
    expect(classifyCardError(error)).toBe(expected);
    expect(fake.cards.get('card-f')?.text).toBe('one');
  });

  it('classifies a permission error on create', async () => {
    fake.cards.script(({ kind }) =>
      kind === 'create' ? cardFaults.permission('Card.Instance.Write') : undefined,
    );
    const error = await rejectionOf(create('card-p'));

    expect(classifyCardError(error)).toBe('permission');
    expect(fake.cards.get('card-p')).toBeUndefined();
  });

  it('maps a dropped connection to a transient transport error', async () => {
    await create('card-d');
    fake.cards.script(() => ({ destroySocket: true }));
    const error = await rejectionOf(updateCard({ ...context, outTrackId: 'card-d', cardParamMap: {} }));

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expect(classifyCardError(error)).toBe('transient');
    expect(calls.at(-1)).toBe('card/instances transport');
  });

  it('aborts with the caller signal', async () => {
    await create('card-a');
    fake.cards.script(() => ({ status: 200, body: { success: true, result: true }, delayMs: 5_000 }));
    const controller = new AbortController();
    const pending = streamCardContent({
      ...context,
      signal: controller.signal,
      outTrackId: 'card-a',
      content: 'x',
    });
    controller.abort();

    expect(await rejectionOf(pending)).toBeInstanceOf(DingTalkTransportError);
  });
});

describe('classifyCardError', () => {
  const apiError = (status: number, apiCode?: string, apiMessage?: string): DingTalkApiError =>
    new DingTalkApiError({
      endpoint: 'card/streaming',
      status,
      apiCode,
      apiMessage,
      body: '',
      retryable: false,
    });

  it.each<[string, unknown, string]>([
    [
      '403 QpsLimitForAppkeyAndApi',
      apiError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi'),
      'throttled',
    ],
    ['403 QpsLimitForApi', apiError(403, 'Forbidden.AccessDenied.QpsLimitForApi'), 'throttled'],
    [
      '403 with QpsLimit only in the message',
      apiError(403, 'Forbidden.AccessDenied', 'QpsLimit hit'),
      'throttled',
    ],
    ['429 without a code', apiError(429), 'throttled'],
    [
      '403 permission denied',
      apiError(403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied'),
      'permission',
    ],
    ['403 IP not allowed', apiError(403, 'Forbidden.AccessDenied.IpNotInWhiteList'), 'permission'],
    ['403 without a code', apiError(403), 'permission'],
    ['400 naming Card.Instance.Write', apiError(400, 'Forbidden', 'need Card.Instance.Write'), 'permission'],
    [
      'an answer naming card.streaming.write',
      apiError(400, undefined, 'scope card.streaming.write'),
      'permission',
    ],
    ['param.cardTemplateIdInvalid', apiError(400, 'param.cardTemplateIdInvalid'), 'template'],
    ['param.cardTemplateIdEmpty', apiError(400, 'param.cardTemplateIdEmpty'), 'template'],
    [
      'a template-not-found message',
      apiError(400, 'InvalidParameter', 'card template not found'),
      'template',
    ],
    ['a 模板不存在 message', apiError(400, 'InvalidParameter', '卡片模板不存在'), 'template'],
    ['500', apiError(500, 'system.err'), 'transient'],
    ['503 without a body', apiError(503), 'transient'],
    ['a transport error', new DingTalkTransportError('card/streaming', new Error('ECONNRESET')), 'transient'],
    ['400 param.outTrackIdEmpty', apiError(400, 'param.outTrackIdEmpty'), 'other'],
    ['400 InvalidAuthentication', apiError(400, 'InvalidAuthentication'), 'other'],
    ['a plain Error', new Error('bug'), 'other'],
    ['a string', 'boom', 'other'],
  ])('%s → %s', (_name, error, expected) => {
    expect(classifyCardError(error)).toBe(expected);
  });
});
