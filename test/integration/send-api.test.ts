import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { FakeDingTalk } from '../fakes/fake-dingtalk.js';
import type { RecordedRobotMessage } from '../fakes/fake-dingtalk-types.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { pdfDocument, pngImage } from '../helpers/media-fixtures.js';

const TOKEN = 'e2e-send-token-0123456789abcdef';
const GROUP_SEND = '/v1.0/robot/groupMessages/send';

interface SendResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function send(gw: GatewayProcess, body: unknown, token: string | null = TOKEN): Promise<SendResponse> {
  const response = await fetch(`${gw.baseUrl}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

function messagesTo(dingtalk: FakeDingTalk, target: string): RecordedRobotMessage[] {
  return dingtalk.robotMessages.filter((message) =>
    message.kind === 'oto'
      ? (message.body['userIds'] as string[]).includes(target)
      : message.body['openConversationId'] === target,
  );
}

function paramOf(message: RecordedRobotMessage): Record<string, string> {
  return message.msgParam as Record<string, string>;
}

describe('POST /v1/messages without a configured token', () => {
  const harness = useGatewayHarness({ waitForConnection: false });

  it('does not exist (404), whatever token is presented', async () => {
    const { dingtalk } = harness;
    const gateway = await harness.start();
    const response = await send(gateway, { staffId: 'u1', text: 'hi' });
    expect(response.status).toBe(404);
    expect(dingtalk.robotMessages).toHaveLength(0);
  });
});

describe('POST /v1/messages', () => {
  /** One gateway and one pair of fakes for the whole suite. */
  const harness = useGatewayHarness({
    scope: 'all',
    tempDirs: { root: 'gateway-send-', outside: 'gateway-send-outside-' },
    waitForConnection: false,
  });
  let gw: GatewayProcess;

  beforeAll(async () => {
    const { root, outside } = harness.dirs;
    writeFileSync(join(root, 'chart.png'), pngImage());
    writeFileSync(join(root, 'report.pdf'), pdfDocument());
    writeFileSync(join(outside, 'secret.pdf'), pdfDocument());
    gw = await harness.start(
      {
        server: { sendApiRateLimitRequests: 1_000 },
        delivery: { rateLimitMessages: 4 },
        channels: { dingtalk: { mediaRoots: [root], maxChars: 60 } },
      },
      { env: { GATEWAY_SEND_TOKEN: TOKEN } },
    );
  });

  it.each([
    ['a missing token', null],
    ['a wrong token', `${TOKEN.slice(0, -1)}X`],
  ])('answers 401 for %s and sends nothing', async (_name, token) => {
    const { dingtalk } = harness;
    const response = await send(gw, { staffId: 'nobody', text: 'hi' }, token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(messagesTo(dingtalk, 'nobody')).toHaveLength(0);
  });

  it('answers 400 listing the key path of every problem', async () => {
    const response = await send(gw, {
      staffId: '',
      markdown: 42,
      title: 'x'.repeat(500),
      media: [{ path: 'relative/chart.png' }, { name: 'a.png' }],
      urgent: true,
    });
    expect(response.status).toBe(400);
    const issues = response.body['issues'] as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      ['markdown', 'media.0.path', 'media.1.path', 'staffId', 'title', 'urgent'].sort(),
    );
  });

  it('sends a text to a user through oToMessages/batchSend', async () => {
    const { dingtalk } = harness;
    const response = await send(gw, { staffId: 'staff-api-1', text: 'Backup finished.' });
    expect(response.status).toBe(200);
    const [message] = messagesTo(dingtalk, 'staff-api-1');
    expect(message!.kind).toBe('oto');
    expect(message!.body).toMatchObject({
      robotCode: dingtalk.options.clientId,
      userIds: ['staff-api-1'],
      msgKey: 'sampleText',
    });
    expect(paramOf(message!)).toEqual({ content: 'Backup finished.' });
    expect(response.body).toEqual({ sent: 1, processQueryKeys: [message!.processQueryKey] });
  });

  it('splits long markdown for a group at maxChars, in order, every part titled', async () => {
    const { dingtalk } = harness;
    const paragraphs = [
      'First paragraph of the nightly report.',
      'Second paragraph with more news.',
      'Third and last paragraph here.',
    ];
    const response = await send(gw, {
      openConversationId: 'cidSendApiGroup==',
      markdown: paragraphs.join('\n\n'),
      title: 'Nightly',
    });
    expect(response.status).toBe(200);
    const messages = messagesTo(dingtalk, 'cidSendApiGroup==');
    expect(messages.length).toBeGreaterThan(1);
    expect(response.body).toEqual({
      sent: messages.length,
      processQueryKeys: messages.map((message) => message.processQueryKey),
    });
    for (const message of messages) {
      expect(message.kind).toBe('group');
      expect(message.body).toMatchObject({
        robotCode: dingtalk.options.clientId,
        openConversationId: 'cidSendApiGroup==',
        msgKey: 'sampleMarkdown',
      });
      expect(paramOf(message)['title']).toBe('Nightly');
      expect(paramOf(message)['text']!.length).toBeLessThanOrEqual(60);
    }
    const sentText = messages.map((message) => paramOf(message)['text']).join('\n\n');
    expect(sentText.replace(/\s+/g, ' ')).toBe(paragraphs.join(' '));
  });

  it('attaches files from mediaRoots: the picture inline, the file as its own message', async () => {
    const { dingtalk } = harness;
    const { root } = harness.dirs;
    const uploadsBefore = dingtalk.uploads.length;
    const response = await send(gw, {
      staffId: 'staff-api-media',
      markdown: 'See attached.',
      media: [{ path: join(root, 'chart.png') }, { path: join(root, 'report.pdf'), name: 'Q3 report.pdf' }],
    });
    expect(response.status).toBe(200);
    const uploads = dingtalk.uploads.slice(uploadsBefore);
    expect(uploads.map((upload) => [upload.type, upload.fileName])).toEqual([
      ['image', 'chart.png'],
      ['file', 'Q3 report.pdf'],
    ]);
    const messages = messagesTo(dingtalk, 'staff-api-media');
    expect(messages.map((message) => message.msgKey)).toEqual(['sampleMarkdown', 'sampleFile']);
    expect(paramOf(messages[0]!)['text']).toBe(`See attached.\n\n![chart.png](${uploads[0]!.mediaId})`);
    expect(paramOf(messages[1]!)).toEqual({
      mediaId: uploads[1]!.mediaId,
      fileName: 'Q3 report.pdf',
      fileType: 'pdf',
    });
    expect(response.body['sent']).toBe(2);
  });

  it('refuses a file outside mediaRoots before reading or sending anything', async () => {
    const { dingtalk } = harness;
    const { root, outside } = harness.dirs;
    const uploadsBefore = dingtalk.uploads.length;
    const response = await send(gw, {
      staffId: 'staff-api-refused',
      text: 'Here it is',
      media: [{ path: join(root, 'report.pdf') }, { path: join(outside, 'secret.pdf') }],
    });
    expect(response.status).toBe(400);
    expect(response.body['issues']).toEqual([
      { path: 'media.1.path', message: expect.any(String) as unknown },
    ]);
    expect(dingtalk.uploads).toHaveLength(uploadsBefore);
    expect(messagesTo(dingtalk, 'staff-api-refused')).toHaveLength(0);
  });

  it("answers 429 with Retry-After when the conversation's rate limit cannot take the message now", async () => {
    const { dingtalk } = harness;
    const group = 'cidSendApiBusy==';
    const first = await send(gw, { openConversationId: group, text: 'one' });
    const second = await send(gw, { openConversationId: group, markdown: 'two\n\nthree', title: 'x' });
    expect([first.status, second.status]).toEqual([200, 200]);
    const sentSoFar = messagesTo(dingtalk, group).length;
    expect(sentSoFar).toBeGreaterThanOrEqual(2);
    // Three paragraphs of 50 characters: three messages at maxChars 60, one more than the window has left.
    const text = ['x', 'y', 'z'].map((letter) => letter.repeat(50)).join('\n\n');
    const third = await send(gw, { openConversationId: group, text });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(messagesTo(dingtalk, group)).toHaveLength(sentSoFar);
  });

  it('answers 502 with DingTalk’s error code when the send is refused', async () => {
    const { dingtalk } = harness;
    dingtalk.scriptApi(GROUP_SEND, () => ({
      status: 403,
      body: { code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied', message: 'no permission' },
    }));
    try {
      const response = await send(gw, { openConversationId: 'cidNoRights==', text: 'hello' });
      expect(response.status).toBe(502);
      expect(response.body).toMatchObject({
        code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied',
        status: 403,
        endpoint: 'robot/groupMessages/send',
        sent: 0,
        processQueryKeys: [],
      });
    } finally {
      dingtalk.scriptApi(GROUP_SEND, undefined);
    }
    await expect.poll(() => gw.metric('gateway_send_api_requests_total', { status: '502' })).toBe(1);
    expect(await gw.metric('gateway_send_api_messages_total', { target: 'group', outcome: 'error' })).toBe(1);
  });
});

describe('POST /v1/messages request limit', () => {
  const harness = useGatewayHarness({ waitForConnection: false });

  it('answers 429 with Retry-After past the requests allowed per window, token read from a file', async () => {
    const { dingtalk } = harness;
    const gateway = await harness.start(
      { server: { sendApiTokenFile: 'send-token.txt', sendApiRateLimitRequests: 2 } },
      { files: { 'send-token.txt': `${TOKEN}\n` } },
    );
    const statuses: number[] = [];
    for (const text of ['1', '2', '3'])
      statuses.push((await send(gateway, { staffId: 'limited', text })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await send(gateway, { staffId: 'limited', text: '4' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(limited.body).toMatchObject({ error: 'too many requests' });
    expect(messagesTo(dingtalk, 'limited').map((message) => paramOf(message)['content'])).toEqual(['1', '2']);
    expect(gateway.rawStdout).not.toContain(TOKEN);
  });
});
