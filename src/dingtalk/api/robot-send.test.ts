import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { FakeDingTalk } from '../../../test/fakes/fake-dingtalk.js';
import { type DingTalkApiHarness, startDingTalkApi } from '../../../test/helpers/dingtalk-api.js';
import { DingTalkApiError, DingTalkTransportError, GatewayError } from '../../errors.js';
import type { OutgoingMessage } from '../outgoing-message.js';
import {
  MAX_MSG_PARAM_BYTES,
  ProactiveMessageTooLargeError,
  proactiveBody,
  sendProactive,
  type ProactiveSender,
  type ProactiveTarget,
} from './robot-send.js';

const TOKEN_PATH = '/v1.0/oauth2/accessToken';
const DM_PATH = '/v1.0/robot/oToMessages/batchSend';
const GROUP_PATH = '/v1.0/robot/groupMessages/send';

const DM: ProactiveTarget = { kind: 'dm', userId: 'manager807' };
const GROUP: ProactiveTarget = { kind: 'group', openConversationId: 'cidAsXSBLnA==' };
const MARKDOWN: OutgoingMessage = { kind: 'markdown', title: 'Reply', text: '**hello** 你好' };
const TEXT: OutgoingMessage = { kind: 'text', text: 'plain 文本' };

let api: DingTalkApiHarness;
let fake: FakeDingTalk;
let sender: ProactiveSender;

beforeEach(async () => {
  api = await startDingTalkApi();
  fake = api.fake;
  sender = { apiBase: fake.baseUrl, robotCode: fake.options.clientId, http: api.http, tokens: api.tokens };
});

afterEach(() => api.close());

/** The DingTalkApiError `promise` rejects with, after checking it leaks neither secret nor token. */
async function apiErrorOf(promise: Promise<unknown>): Promise<DingTalkApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DingTalkApiError);
    expectNoSecrets(error as DingTalkApiError);
    return error as DingTalkApiError;
  }
  throw new Error('expected a rejection');
}

function expectNoSecrets(error: Error): void {
  const texts = [error.message, error instanceof DingTalkApiError ? error.bodySnippet : ''];
  for (const text of texts) {
    expect(text).not.toContain(fake.options.clientSecret);
    for (const token of fake.issuedAccessTokens) expect(text).not.toContain(token);
  }
}

describe('proactiveBody', () => {
  it.each<[string, ProactiveTarget, OutgoingMessage, Record<string, unknown>]>([
    [
      'a markdown DM',
      DM,
      MARKDOWN,
      {
        robotCode: 'bot',
        userIds: ['manager807'],
        msgKey: 'sampleMarkdown',
        msgParam: '{"title":"Reply","text":"**hello** 你好"}',
      },
    ],
    [
      'a text DM',
      DM,
      TEXT,
      {
        robotCode: 'bot',
        userIds: ['manager807'],
        msgKey: 'sampleText',
        msgParam: '{"content":"plain 文本"}',
      },
    ],
    [
      'a markdown group message',
      GROUP,
      MARKDOWN,
      {
        robotCode: 'bot',
        openConversationId: 'cidAsXSBLnA==',
        msgKey: 'sampleMarkdown',
        msgParam: '{"title":"Reply","text":"**hello** 你好"}',
      },
    ],
    [
      'a text group message',
      GROUP,
      TEXT,
      {
        robotCode: 'bot',
        openConversationId: 'cidAsXSBLnA==',
        msgKey: 'sampleText',
        msgParam: '{"content":"plain 文本"}',
      },
    ],
  ])('builds %s', (_name, target, message, expected) => {
    expect(proactiveBody('bot', target, message)).toStrictEqual(expected);
  });

  it('accepts a msgParam of exactly the limit and refuses one byte more, counting UTF-8 bytes', () => {
    const overhead = Buffer.byteLength(JSON.stringify({ content: '' }));
    const fits = 'x'.repeat(MAX_MSG_PARAM_BYTES - overhead);
    expect(Buffer.byteLength(proactiveBody('bot', GROUP, { kind: 'text', text: fits }).msgParam)).toBe(
      MAX_MSG_PARAM_BYTES,
    );

    // 3 bytes per character: 5_000 characters are far below any chunking limit yet too many bytes.
    const wide = '字'.repeat(5_000);
    expect(() => proactiveBody('bot', GROUP, { kind: 'text', text: `${fits.slice(1)}字` })).toThrow(
      ProactiveMessageTooLargeError,
    );
    expect(() => proactiveBody('bot', DM, { kind: 'markdown', title: 't', text: wide })).toThrow(
      ProactiveMessageTooLargeError,
    );
  });
});

describe('sendProactive', () => {
  it.each<[string, OutgoingMessage, string, unknown]>([
    ['markdown', MARKDOWN, 'sampleMarkdown', { title: 'Reply', text: '**hello** 你好' }],
    ['text', TEXT, 'sampleText', { content: 'plain 文本' }],
  ])('sends a %s DM through batchSend', async (_name, message, msgKey, msgParam) => {
    const processQueryKey = await sendProactive(sender, DM, message);

    const [request] = await fake.waitForApiRequests(DM_PATH, 1);
    expect(request?.method).toBe('POST');
    expect(request?.headers['x-acs-dingtalk-access-token']).toBe(fake.issuedAccessTokens[0]);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toStrictEqual({
      robotCode: fake.options.clientId,
      userIds: ['manager807'],
      msgKey,
      msgParam: JSON.stringify(msgParam),
    });
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]).toMatchObject({ kind: 'oto', msgKey, msgParam, processQueryKey });
  });

  it.each<[string, OutgoingMessage, string, unknown]>([
    ['markdown', MARKDOWN, 'sampleMarkdown', { title: 'Reply', text: '**hello** 你好' }],
    ['text', TEXT, 'sampleText', { content: 'plain 文本' }],
  ])('sends a %s group message through groupMessages/send', async (_name, message, msgKey, msgParam) => {
    const processQueryKey = await sendProactive(sender, GROUP, message);

    const [request] = await fake.waitForApiRequests(GROUP_PATH, 1);
    expect(request?.headers['x-acs-dingtalk-access-token']).toBe(fake.issuedAccessTokens[0]);
    expect(request?.body).toStrictEqual({
      robotCode: fake.options.clientId,
      openConversationId: 'cidAsXSBLnA==',
      msgKey,
      msgParam: JSON.stringify(msgParam),
    });
    expect(fake.robotMessages).toHaveLength(1);
    expect(fake.robotMessages[0]).toMatchObject({ kind: 'group', msgKey, msgParam, processQueryKey });
  });

  it('reuses the cached token across sends', async () => {
    await sendProactive(sender, DM, TEXT);
    await sendProactive(sender, GROUP, TEXT);

    expect(api.requestsTo(TOKEN_PATH)).toBe(1);
    expect(fake.robotMessages).toHaveLength(2);
  });

  it('refreshes an invalidated token once and sends', async () => {
    await sendProactive(sender, GROUP, TEXT);
    fake.invalidateAccessTokens();

    await sendProactive(sender, GROUP, TEXT);

    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
    expect(api.requestsTo(GROUP_PATH)).toBe(3);
    expect(fake.robotMessages).toHaveLength(2);
    expect(fake.robotMessages[1]?.body).toMatchObject({ robotCode: fake.options.clientId });
  });

  it('gives up after one refresh when the token keeps being refused', async () => {
    fake.scriptApi(GROUP_PATH, () => ({
      status: 400,
      body: { code: 'InvalidAuthentication', message: 'x' },
    }));
    const error = await apiErrorOf(sendProactive(sender, GROUP, TEXT));

    expect(error).toMatchObject({ status: 400, apiCode: 'InvalidAuthentication', retryable: false });
    expect(api.requestsTo(GROUP_PATH)).toBe(2);
    expect(api.requestsTo(TOKEN_PATH)).toBe(2);
  });

  it('refuses a user DingTalk lists as invalid, without retrying', async () => {
    fake.scriptApi(DM_PATH, () => ({
      status: 200,
      body: { processQueryKey: 'pqk', invalidStaffIdList: ['manager807'], flowControlledStaffIdList: [] },
    }));
    const error = await apiErrorOf(sendProactive(sender, DM, TEXT));

    expect(error).toMatchObject({
      endpoint: 'robot/oToMessages/batchSend',
      status: 200,
      apiCode: 'invalidStaffIdList',
      retryable: false,
    });
    expect(api.requestsTo(DM_PATH)).toBe(1);
  });

  it('reports a flow-controlled user as retryable', async () => {
    fake.scriptApi(DM_PATH, () => ({
      status: 200,
      body: { processQueryKey: 'pqk', invalidStaffIdList: [], flowControlledStaffIdList: ['manager807'] },
    }));
    const error = await apiErrorOf(sendProactive(sender, DM, TEXT));

    expect(error).toMatchObject({ apiCode: 'flowControlled', retryable: true });
    expect(api.requestsTo(DM_PATH)).toBe(1);
  });

  it('returns the processQueryKey of a scripted answer', async () => {
    fake.scriptApi(GROUP_PATH, () => ({ status: 200, body: { processQueryKey: 'pqk-1' } }));

    expect(await sendProactive(sender, GROUP, TEXT)).toBe('pqk-1');
  });

  it('refuses a 403 Forbidden.AccessDenied as non-retryable, without a token refresh', async () => {
    const code = 'Forbidden.AccessDenied.AccessTokenPermissionDenied';
    fake.scriptApi(GROUP_PATH, () => ({ status: 403, body: { code, message: 'no qyapi_robot_sendmsg' } }));
    const error = await apiErrorOf(sendProactive(sender, GROUP, TEXT));

    expect(error).toMatchObject({ status: 403, apiCode: code, retryable: false });
    expect(api.requestsTo(GROUP_PATH)).toBe(1);
    expect(api.requestsTo(TOKEN_PATH)).toBe(1);
  });

  it('reports a 5xx as retryable and does not retry it itself', async () => {
    fake.scriptApi(DM_PATH, () => ({ status: 502, body: { code: 'BadGateway' } }));
    const error = await apiErrorOf(sendProactive(sender, DM, MARKDOWN));

    expect(error).toMatchObject({ status: 502, retryable: true, endpoint: 'robot/oToMessages/batchSend' });
    expect(api.requestsTo(DM_PATH)).toBe(1);
  });

  it('passes on the parameter errors of the fake as non-retryable', async () => {
    const error = await apiErrorOf(sendProactive({ ...sender, robotCode: 'not-the-robot' }, DM, TEXT));

    expect(error).toMatchObject({
      status: 400,
      apiCode: 'invalidParameter.robotCode.invalid',
      retryable: false,
    });
  });

  it('refuses an oversized message before any request', async () => {
    const huge: OutgoingMessage = { kind: 'markdown', title: 'big', text: '字'.repeat(6_000) };
    let error: unknown;
    try {
      await sendProactive(sender, GROUP, huge);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ProactiveMessageTooLargeError);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ retryable: false, endpoint: 'robot/groupMessages/send' });
    expect((error as ProactiveMessageTooLargeError).msgParamBytes).toBeGreaterThan(MAX_MSG_PARAM_BYTES);
    expect((error as Error).message).not.toContain('字');
    expect(fake.apiRequests).toHaveLength(0);
  });

  it('maps an unreachable API to a transport error without the token', async () => {
    await sender.tokens.get();
    const deadBase = 'http://127.0.0.1:9';
    let error: unknown;
    try {
      await sendProactive({ ...sender, apiBase: deadBase }, GROUP, TEXT);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(DingTalkTransportError);
    expectNoSecrets(error as Error);
  });
});
