import { describe, expect, it } from 'vitest';

import { useGatewayHarness } from '../helpers/gateway-harness.js';

const BATCH_SEND = '/v1.0/robot/oToMessages/batchSend';
const GROUP_SEND = '/v1.0/robot/groupMessages/send';

const harness = useGatewayHarness();

function msgParam(body: unknown): Record<string, string> {
  return JSON.parse((body as { msgParam: string }).msgParam) as Record<string, string>;
}

function sessionIdOf(webhook: string): string {
  return new URL(webhook).searchParams.get('session')!;
}

describe('reply routing', () => {
  it('uses the proactive API for a DM whose webhook is about to expire', async () => {
    const { dingtalk } = harness;
    const gw = await harness.start();
    dingtalk.pushBotMessage(
      dingtalk.dmText('late reply', {
        senderStaffId: 'staff-1',
        sessionWebhookExpiredTime: Date.now() + 60_000,
      }),
    );
    const [request] = await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    expect(request!.body).toMatchObject({
      robotCode: dingtalk.options.clientId,
      userIds: ['staff-1'],
      msgKey: 'sampleMarkdown',
    });
    expect(msgParam(request!.body)).toEqual({ title: 'echo: late reply', text: 'echo: late reply' });
    expect(request!.headers['x-acs-dingtalk-access-token']).toBe(dingtalk.issuedAccessTokens[0]);
    expect(dingtalk.webhookPosts).toHaveLength(0);
    await expect
      .poll(() => gw.metric('gateway_replies_sent_total', { route: 'proactive', outcome: 'ok' }))
      .toBe(1);
    expect(
      await gw.metric('dingtalk_api_calls_total', { endpoint: 'oauth2/accessToken', status: '200' }),
    ).toBe(1);
  });

  it('falls back to groupMessages/send when a group webhook answers errcode 300001', async () => {
    const { dingtalk } = harness;
    await harness.start();
    const message = dingtalk.groupText('expired group', { conversationId: 'cidGroupX==' });
    dingtalk.expireSession(sessionIdOf(message.sessionWebhook));
    dingtalk.pushBotMessage(message);
    const [request] = await dingtalk.waitForApiRequests(GROUP_SEND, 1);
    expect(request!.body).toMatchObject({ openConversationId: 'cidGroupX==', msgKey: 'sampleMarkdown' });
    expect(msgParam(request!.body)['text']).toContain('expired group');
    // The expired webhook was tried once, not retried.
    expect(dingtalk.webhookPosts).toHaveLength(1);
    expect(dingtalk.webhookPosts[0]!.response.body).toMatchObject({ errcode: 300001 });
  });

  it('falls back for a DM on errcode 300001, and a newer message brings a working webhook back', async () => {
    const { dingtalk } = harness;
    await harness.start({ channels: { dingtalk: { replyMode: 'text' } } });
    const first = dingtalk.dmText('one', { senderStaffId: 'staff-2' });
    dingtalk.expireSession(sessionIdOf(first.sessionWebhook));
    dingtalk.pushBotMessage(first);
    const [request] = await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    expect(request!.body).toMatchObject({ userIds: ['staff-2'], msgKey: 'sampleText' });
    expect(msgParam(request!.body)).toEqual({ content: 'echo: one' });

    dingtalk.pushBotMessage(dingtalk.dmText('two', { senderStaffId: 'staff-2' }));
    const posts = await dingtalk.waitForWebhookPosts(2);
    expect(posts[1]!.body).toEqual({ msgtype: 'text', text: { content: 'echo: two' } });
    expect(dingtalk.apiRequests.filter((entry) => entry.path === BATCH_SEND)).toHaveLength(1);
  });

  it('refreshes the access token once when DingTalk says it is invalid', async () => {
    const { dingtalk } = harness;
    await harness.start();
    const expiring = { senderStaffId: 'staff-3', sessionWebhookExpiredTime: Date.now() + 1_000 };
    dingtalk.pushBotMessage(dingtalk.dmText('first', expiring));
    await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    dingtalk.invalidateAccessTokens();
    dingtalk.pushBotMessage(dingtalk.dmText('second', expiring));
    const sends = await dingtalk.waitForApiRequests(BATCH_SEND, 3);
    expect(sends.map((entry) => entry.response.status)).toEqual([200, 400, 200]);
    expect(dingtalk.issuedAccessTokens).toHaveLength(2);
    expect(msgParam(sends[2]!.body)['text']).toBe('echo: second');
  });

  it('does not retry a permission error, and logs and counts it with its DingTalk code', async () => {
    const { dingtalk } = harness;
    const gw = await harness.start();
    dingtalk.scriptApi(GROUP_SEND, () => ({
      status: 403,
      body: {
        code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied',
        message: 'no permission',
        requestid: 'r1',
      },
    }));
    dingtalk.pushBotMessage(dingtalk.groupText('no rights', { sessionWebhookExpiredTime: Date.now() }));
    const line = await gw.waitForLog((entry) => entry.msg === 'reply send gave up on this path');
    expect(line['apiCode']).toBe('Forbidden.AccessDenied.AccessTokenPermissionDenied');
    await gw.waitForLog((entry) => entry.msg.startsWith('reply could not be delivered'));
    expect(dingtalk.apiRequests.filter((entry) => entry.path === GROUP_SEND)).toHaveLength(1);
    expect(await gw.metric('gateway_replies_sent_total', { route: 'proactive', outcome: 'rejected' })).toBe(
      1,
    );
    expect(await gw.metric('gateway_turns_total', { outcome: 'undeliverable' })).toBe(1);
  });
});

describe('rate limit and queue bound', () => {
  it('holds replies over the per-conversation rate limit and coalesces them instead of dropping any', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({
      delivery: { rateLimitMessages: 2, rateLimitWindowMs: 1_500 },
      channels: { dingtalk: { isolateContextPerUserInGroup: true } },
    });
    const users = ['a', 'b', 'c', 'd', 'e'];
    for (const user of users) {
      dingtalk.pushBotMessage(
        dingtalk.groupText(`from ${user}`, { senderStaffId: user, conversationId: 'cidBusy==' }),
      );
    }
    await openclaw.waitForRequests(users.length);
    await expect
      .poll(
        () =>
          users.every((user) =>
            dingtalk.webhookPosts.some((post) => JSON.stringify(post.body).includes(`from ${user}`)),
          ),
        {
          timeout: 5_000,
        },
      )
      .toBe(true);
    const posts = dingtalk.webhookPosts;
    const all = posts.map((post) => JSON.stringify(post.body)).join('\n');
    for (const user of users) expect(all.split(`from ${user}`).length - 1).toBe(1);
    expect(posts.length).toBeLessThan(users.length);
    // Never more than 2 posts inside one window (less 100 ms: the fake stamps a post when it is answered).
    for (const [index, post] of posts.entries()) {
      const inWindow = posts.filter((other) => other.atMs >= post.atMs && other.atMs < post.atMs + 1_400);
      expect(inWindow.length, `window starting at post ${index}`).toBeLessThanOrEqual(2);
    }
  });

  it('answers at once with a busy notice when a conversation queue is full', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ delivery: { maxQueuePerConversation: 2 } });
    openclaw.setHandler((request) => ({
      kind: 'stream',
      chunks: [`echo: ${request.lastUserText}`],
      chunkDelayMs: 600,
    }));
    for (const index of [1, 2, 3, 4]) {
      const pushed = dingtalk.pushBotMessage(dingtalk.dmText(`q${index}`, { senderStaffId: 'eager' }));
      await dingtalk.waitForAck(pushed.messageId);
    }
    const posts = await dingtalk.waitForWebhookPosts(4, 8_000);
    const texts = posts.map((post) => (post.body as { markdown: { text: string } }).markdown.text);
    expect(texts.slice(0, 2).every((text) => text.includes('busy'))).toBe(true);
    expect(texts.slice(2)).toEqual(['echo: q1', 'echo: q2']);
    expect(openclaw.requests.map((request) => request.lastUserText)).toEqual(['q1', 'q2']);
  });
});
