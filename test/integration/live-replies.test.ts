import { describe, expect, it } from 'vitest';

import { useGatewayHarness } from '../helpers/gateway-harness.js';

const harness = useGatewayHarness();

function texts(): string[] {
  const { dingtalk } = harness;
  return dingtalk.webhookPosts.map((post) => (post.body as { markdown: { text: string } }).markdown.text);
}

const PARAGRAPHS = Array.from(
  { length: 6 },
  (_, index) => `Paragraph ${index}: ${'lorem ipsum '.repeat(6).trim()}.`,
);

describe('progressive replies', () => {
  it('sends complete messages while the agent is still writing, in order, nothing lost or repeated', async () => {
    const { dingtalk, openclaw } = harness;
    const gateway = await harness.start({ channels: { dingtalk: { maxChars: 120 } } });
    const chunkDelayMs = 150;
    const chunks = PARAGRAPHS.map((paragraph, index) => (index === 0 ? paragraph : `\n\n${paragraph}`));
    openclaw.enqueueReplies({ kind: 'stream', chunks, chunkDelayMs });
    dingtalk.pushBotMessage(dingtalk.dmText('write slowly'));
    const [request] = await openclaw.waitForRequests(1);
    const [first] = await dingtalk.waitForWebhookPosts(1);
    // The stream takes chunks × delay; the first message left well before it ended.
    expect(first!.atMs).toBeLessThan(request!.receivedAtMs + chunks.length * chunkDelayMs - 2 * chunkDelayMs);
    await gateway.waitForLog((line) => line.msg === 'reply delivered');
    expect(texts().join('\n\n')).toBe(PARAGRAPHS.join('\n\n'));
    for (const text of texts()) expect(text.length).toBeLessThanOrEqual(120);
  });
});

describe('chat commands', () => {
  it('/new starts a fresh OpenClaw session for the conversation', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.pushBotMessage(dingtalk.dmText('remember me', { senderStaffId: 'cmd-user' }));
    await dingtalk.waitForWebhookPosts(1);
    dingtalk.pushBotMessage(dingtalk.dmText('/new', { senderStaffId: 'cmd-user' }));
    await dingtalk.waitForWebhookPosts(2);
    dingtalk.pushBotMessage(dingtalk.dmText('who am I?', { senderStaffId: 'cmd-user' }));
    await dingtalk.waitForWebhookPosts(3);
    expect(texts()[1]).toContain('new conversation');
    expect(openclaw.requests.map((request) => request.sessionKey)).toEqual([
      'dingtalk:default:dm:cmd-user',
      'dingtalk:default:dm:cmd-user:g1',
    ]);
  });

  it('/stop aborts the running turn, keeps what was said, and the next message is answered', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: ['First words', ' then', ' more', ' and more'],
      chunkDelayMs: 400,
    });
    dingtalk.pushBotMessage(dingtalk.dmText('long story', { senderStaffId: 'stopper' }));
    await openclaw.waitForRequests(1);
    await new Promise((resolve) => setTimeout(resolve, 600));
    dingtalk.pushBotMessage(dingtalk.dmText('/stop', { senderStaffId: 'stopper' }));
    const [stopped] = await dingtalk.waitForWebhookPosts(1);
    expect(texts()[0]).toMatch(/^First words[\s\S]*⏹️/);
    expect(texts()[0]).not.toContain('and more');
    await expect.poll(() => openclaw.requests[0]!.aborted).toBe(true);
    dingtalk.pushBotMessage(dingtalk.dmText('next', { senderStaffId: 'stopper' }));
    await dingtalk.waitForWebhookPosts(2);
    expect(texts()[1]).toBe('echo: next');
    expect(stopped).toBeDefined();
  });

  it('/stop with nothing running says so', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.pushBotMessage(dingtalk.dmText('/stop'));
    await dingtalk.waitForWebhookPosts(1);
    expect(texts()[0]).toContain('Nothing to stop');
    expect(openclaw.requests).toHaveLength(0);
  });

  it('/status and /help answer without asking the agent', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.pushBotMessage(dingtalk.groupText('/status', { conversationId: 'cidStatus==' }));
    await dingtalk.waitForWebhookPosts(1);
    dingtalk.pushBotMessage(dingtalk.groupText('/HELP please', { conversationId: 'cidStatus==' }));
    await dingtalk.waitForWebhookPosts(2);
    expect(texts()[0]).toContain('dingtalk:default:group:cidStatus==');
    expect(texts()[0]).toContain('http');
    expect(texts()[1]).toContain('/stop');
    expect(openclaw.requests).toHaveLength(0);
  });

  it('obeys access control and can be switched off', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ channels: { dingtalk: { allowFrom: ['boss'], commands: { enabled: false } } } });
    dingtalk.pushBotMessage(dingtalk.dmText('/status', { senderStaffId: 'intruder' }));
    dingtalk.pushBotMessage(dingtalk.dmText('/status', { senderStaffId: 'boss' }));
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.lastUserText).toBe('/status');
    await dingtalk.waitForWebhookPosts(1);
    expect(texts()).toEqual(['echo: /status']);
  });
});
