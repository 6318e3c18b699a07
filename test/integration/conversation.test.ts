import { describe, expect, it } from 'vitest';

import { useGatewayHarness } from '../helpers/gateway-harness.js';
import { connectInspector, inspectorUrlIn, liveHeapBytes } from '../helpers/inspector-client.js';

const harness = useGatewayHarness();

function markdownOf(body: unknown): { title: string; text: string } {
  return (body as { markdown: { title: string; text: string } }).markdown;
}

describe('a DM', () => {
  it('is acked at once, asked of OpenClaw with the session headers, and answered through the webhook', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: ['# Hello', ' 张三\n\nHow can I ', 'help?'],
      chunkDelayMs: 50,
    });
    const message = dingtalk.dmText('你好 bot', { senderStaffId: 'manager807', senderNick: '张三' });
    const pushed = dingtalk.pushBotMessage(message);

    const ack = await dingtalk.waitForAck(pushed.messageId);
    const [posts, requests] = await Promise.all([
      dingtalk.waitForWebhookPosts(1),
      openclaw.waitForRequests(1),
    ]);
    const request = requests[0]!;
    // The ACK does not wait for the agent: it arrives before the first reply post.
    expect(ack.atMs).toBeLessThanOrEqual(request.receivedAtMs + 50);
    expect(ack.code).toBe(200);

    expect(request.sessionKey).toBe('dingtalk:default:dm:manager807');
    expect(request.headers['x-openclaw-agent-id']).toBe('main');
    expect(request.headers['x-openclaw-message-channel']).toBe('dingtalk');
    expect(request.headers['authorization']).toBe('Bearer test-openclaw-token');
    expect(request.body).toMatchObject({
      model: 'openclaw/main',
      stream: true,
      messages: [{ role: 'user', content: '你好 bot' }],
    });

    const post = posts[0]!;
    expect(post.sessionId).toBe(new URL(message.sessionWebhook).searchParams.get('session'));
    expect(post.response.body).toMatchObject({ errcode: 0 });
    expect(post.body).toMatchObject({ msgtype: 'markdown' });
    expect(markdownOf(post.body)).toEqual({ title: 'Hello 张三', text: '# Hello 张三\n\nHow can I help?' });
  });

  it('uses the text msgtype in text reply mode and prefixes only the first reply of a session', async () => {
    const { dingtalk } = harness;
    await harness.start({ channels: { dingtalk: { replyMode: 'text', responsePrefix: '[bot]' } } });
    dingtalk.pushBotMessage(dingtalk.dmText('one', { senderStaffId: 'u1' }));
    await dingtalk.waitForWebhookPosts(1);
    dingtalk.pushBotMessage(dingtalk.dmText('two', { senderStaffId: 'u1' }));
    await dingtalk.waitForWebhookPosts(2);
    dingtalk.pushBotMessage(dingtalk.dmText('three', { senderStaffId: 'u2' }));
    const posts = await dingtalk.waitForWebhookPosts(3);

    expect(posts.map((post) => post.body)).toEqual([
      { msgtype: 'text', text: { content: '[bot] echo: one' } },
      { msgtype: 'text', text: { content: 'echo: two' } },
      { msgtype: 'text', text: { content: '[bot] echo: three' } },
    ]);
  });

  it('wraps markdown tables in a code block with tableMode code, and leaves them with tableMode off', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    const table = '| name | qty |\n| --- | --: |\n| 苹果 | 3 |\n| pear | 12 |';
    openclaw.setHandler(() => ({ kind: 'stream', chunks: [`Stock:\n\n${table}`] }));
    dingtalk.pushBotMessage(dingtalk.dmText('stock?'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    const text = markdownOf(post!.body).text;
    expect(text).toContain('```');
    expect(text).not.toContain('| --- |');
    expect(text).toMatch(/苹果/);
  });
});

describe('a group', () => {
  it('answers a mention with the speaker named, in the group session', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    const message = dingtalk.groupText('天气如何？', {
      senderStaffId: 'staff42',
      senderNick: '李四',
      conversationId: 'cidAbCdEf==',
    });
    dingtalk.pushBotMessage(message);
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.sessionKey).toBe('dingtalk:default:group:cidAbCdEf==');
    // The leading space DingTalk leaves where the mention was is trimmed.
    expect(request!.lastUserText).toBe('[From 李四 (id: staff42)]\n天气如何？');
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect(markdownOf(post!.body).text).toBe('echo: [From 李四 (id: staff42)]\n天气如何？');
  });

  it('isolates sessions per user with isolateContextPerUserInGroup', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ channels: { dingtalk: { isolateContextPerUserInGroup: true } } });
    dingtalk.pushBotMessage(dingtalk.groupText('hi', { senderStaffId: 'UserA', conversationId: 'cidG==' }));
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.sessionKey).toBe('dingtalk:default:group:cidG==:user:UserA');
  });

  it('gates on mention, prefix, bypass list and allowlist, acking every message', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start({
      channels: {
        dingtalk: {
          requirePrefix: '!ask',
          mentionBypassUsers: ['vip'],
          allowFrom: ['alice', 'vip', 'bob'],
        },
      },
    });
    const cases = [
      { text: 'not mentioned', overrides: { senderStaffId: 'alice', isInAtList: false }, answered: false },
      { text: 'mentioned', overrides: { senderStaffId: 'alice', isInAtList: true }, answered: true },
      { text: '!ASK with prefix', overrides: { senderStaffId: 'bob', isInAtList: false }, answered: true },
      { text: 'bypass', overrides: { senderStaffId: 'vip', isInAtList: false }, answered: true },
      { text: 'stranger', overrides: { senderStaffId: 'mallory', isInAtList: true }, answered: false },
    ];
    const pushed = cases.map((entry) =>
      dingtalk.pushBotMessage(dingtalk.groupText(entry.text, entry.overrides)),
    );
    await Promise.all(pushed.map((frame) => dingtalk.waitForAck(frame.messageId)));
    await dingtalk.waitForWebhookPosts(3);
    await gw.waitForLog((line) => line.msg === 'message rejected' && line['reason'] === 'sender-not-allowed');

    const asked = openclaw.requests.map((request) => request.lastUserText.split('\n').at(-1));
    expect(asked.sort()).toEqual(['bypass', 'mentioned', 'with prefix']);
    expect(await gw.metric('gateway_messages_rejected_total', { reason: 'not-mentioned' })).toBe(1);
    expect(await gw.metric('gateway_messages_rejected_total', { reason: 'sender-not-allowed' })).toBe(1);
    expect(await gw.metric('gateway_messages_total', { outcome: 'accepted' })).toBe(3);
    expect(dingtalk.webhookPosts).toHaveLength(3);
  });
});

describe('ordering', () => {
  it('answers the messages of one conversation one at a time, in order, and others concurrently', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    openclaw.setHandler((request) => ({
      kind: 'stream',
      chunks: [`re: ${request.lastUserText}`],
      chunkDelayMs: request.lastUserText.startsWith('slow') ? 300 : 10,
    }));
    dingtalk.pushBotMessage(dingtalk.dmText('slow 1', { senderStaffId: 'a' }));
    dingtalk.pushBotMessage(dingtalk.dmText('fast 2', { senderStaffId: 'a' }));
    dingtalk.pushBotMessage(dingtalk.dmText('fast other', { senderStaffId: 'b' }));
    const posts = await dingtalk.waitForWebhookPosts(3);
    const texts = posts.map((post) => markdownOf(post.body).text);
    expect(texts).toEqual(['re: fast other', 're: slow 1', 're: fast 2']);
    // The second message of conversation `a` reached OpenClaw only after the first was answered.
    const secondAsked = openclaw.requests.find((request) => request.lastUserText === 'fast 2')!;
    expect(secondAsked.receivedAtMs).toBeGreaterThanOrEqual(posts[1]!.atMs);
  });
});

describe('a backlog', () => {
  it('waits for turn slots on disk, not in memory, runs no more turns than slots, and answers every message', async () => {
    const { dingtalk, openclaw } = harness;
    const conversations = 150;
    // Each message about 19,000 CJK characters: held in memory while waiting for a slot, the
    // backlog would add at least 148 × 38 KB (one UTF-16 copy of each text) to the live heap
    // (about 18 MB measured when the entries were read before the slot).
    const longText = '长'.repeat(19_000);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    openclaw.setHandler(async (request) => {
      if (request.lastUserText !== 'warm-up') await gate;
      return { kind: 'stream', chunks: [`re: ${request.lastUserText.slice(0, 4)}`] };
    });
    const gateway = await harness.start(
      { openclaw: { maxConcurrentTurns: 2, timeoutMs: 60_000 }, log: { level: 'info' } },
      { env: { NODE_OPTIONS: '--inspect=127.0.0.1:0' } },
    );
    const inspector = await connectInspector(inspectorUrlIn(gateway.stderr));
    try {
      // One message answered first, so that the code of the whole path is compiled before the baseline.
      dingtalk.pushBotMessage(dingtalk.dmText('warm-up', { senderStaffId: 'warm' }));
      await dingtalk.waitForWebhookPosts(1);
      const liveBefore = await liveHeapBytes(inspector);
      const pushed = Array.from({ length: conversations }, (_, index) =>
        dingtalk.pushBotMessage(
          dingtalk.dmText(`m${String(index).padStart(3, '0')} ${longText}`, {
            senderStaffId: `user${index}`,
          }),
        ),
      );
      await Promise.all(pushed.map((push) => dingtalk.waitForAck(push.messageId, 15_000)));
      await openclaw.waitForRequests(1 + 2); // the warm-up, then a turn in each slot
      const liveGrowthBytes = (await liveHeapBytes(inspector)) - liveBefore;
      expect(liveGrowthBytes).toBeLessThan(6 * 1024 * 1024);
      // No more turns than slots: the other 148 conversations wait.
      expect(openclaw.requests).toHaveLength(1 + 2);
    } finally {
      inspector.close();
      openGate();
    }
    const posts = await dingtalk.waitForWebhookPosts(1 + conversations, 30_000);
    const answered = posts
      .slice(1)
      .map((post) => markdownOf(post.body).text)
      .sort();
    expect(answered).toEqual(
      Array.from({ length: conversations }, (_, index) => `re: m${String(index).padStart(3, '0')}`),
    );
  }, 60_000);
});
