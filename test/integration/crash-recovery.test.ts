import { describe, expect, it } from 'vitest';

import { useGatewayHarness } from '../helpers/gateway-harness.js';

/** Every `harness.start` is a fresh process (a restart) on the test's shared state folder. */
const harness = useGatewayHarness({
  tempDirs: { stateDir: 'gateway-state-' },
  config: ({ stateDir }) => ({ state: { dir: stateDir } }),
  waitForConnection: false,
});

function markdownText(body: unknown): string {
  return (body as { markdown: { text: string } }).markdown.text;
}

function delivered(): string[] {
  return harness.dingtalk.webhookPosts
    .filter((post) => (post.response.body as { errcode?: number } | undefined)?.errcode === 0)
    .map((post) => markdownText(post.body));
}

describe('kill -9 and restart on the same state folder', () => {
  it('re-asks an interrupted turn and answers exactly once; a redelivery after the restart is deduped', async () => {
    const { dingtalk, openclaw } = harness;
    const first = await harness.start();
    await dingtalk.waitForConnections(1);
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['never ', 'finished ', 'answer'], chunkDelayMs: 400 });
    const message = dingtalk.dmText('survive a crash', { senderStaffId: 'crash-user' });
    const pushed = dingtalk.pushBotMessage(message);
    await dingtalk.waitForAck(pushed.messageId);
    await openclaw.waitForRequests(1);
    await first.stop('SIGKILL');
    expect(dingtalk.webhookPosts).toHaveLength(0);

    const second = await harness.start();
    const [, retry] = await openclaw.waitForRequests(2);
    expect(retry!.sessionKey).toBe('dingtalk:default:dm:crash-user');
    expect(retry!.lastUserText).toBe('survive a crash');
    await dingtalk.waitForWebhookPosts(1);
    expect(delivered()).toEqual(['echo: survive a crash']);
    await second.waitForLog(
      (line) => line.msg === 'resuming unfinished messages' && line['conversations'] === 1,
    );

    await dingtalk.waitForConnections(2);
    const redelivery = dingtalk.pushBotMessage(message);
    await dingtalk.waitForAck(redelivery.messageId);
    await second.waitForLog(
      (line) => line.msg.startsWith('duplicate delivery') && line['messageId'] === redelivery.messageId,
    );
    expect(openclaw.requests).toHaveLength(2);
    expect(delivered()).toEqual(['echo: survive a crash']);
  });

  it('sends only the reply messages the user does not have yet', async () => {
    const { dingtalk, openclaw } = harness;
    const first = await harness.start({ channels: { dingtalk: { maxChars: 60 } } });
    await dingtalk.waitForConnections(1);
    const paragraphs = Array.from(
      { length: 5 },
      (_, index) => `Paragraph number ${index} of the long reply.`,
    );
    openclaw.enqueueReplies({ kind: 'stream', chunks: [paragraphs.join('\n\n')] });
    let release: () => void = () => undefined;
    const thirdArrived = new Promise<void>((resolve) => {
      let posts = 0;
      dingtalk.scriptWebhook(() => {
        posts += 1;
        if (posts !== 3) return undefined;
        resolve();
        // The third message never reaches the user: its connection dies with the gateway.
        return new Promise((done) => (release = () => done({ destroySocket: true })));
      });
    });
    dingtalk.pushBotMessage(dingtalk.dmText('long please'));
    await thirdArrived;
    await first.stop('SIGKILL');
    release();
    dingtalk.scriptWebhook(undefined);

    await harness.start({ channels: { dingtalk: { maxChars: 60 } } });
    await expect.poll(() => delivered().length, { timeout: 5_000 }).toBe(5);
    expect(delivered()).toEqual(paragraphs);
    expect(openclaw.requests).toHaveLength(1);
  });

  it('apologises instead of answering a message that became too old while the gateway was down', async () => {
    const { dingtalk, openclaw } = harness;
    const first = await harness.start({ delivery: { maxMessageAgeMs: 1_000 } });
    await dingtalk.waitForConnections(1);
    openclaw.enqueueReplies({ kind: 'hang' });
    dingtalk.pushBotMessage(dingtalk.dmText('anyone there?'));
    await openclaw.waitForRequests(1);
    await first.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    await harness.start({ delivery: { maxMessageAgeMs: 1_000 } });
    await dingtalk.waitForWebhookPosts(1);
    expect(delivered()).toHaveLength(1);
    expect(delivered()[0]).toContain('could not be answered in time');
    expect(openclaw.requests).toHaveLength(1);
  });

  it('resumes several conversations in order after a crash', async () => {
    const { dingtalk, openclaw } = harness;
    const first = await harness.start();
    await dingtalk.waitForConnections(1);
    openclaw.setHandler(() => ({ kind: 'hang' }));
    for (const user of ['u1', 'u2']) {
      for (const index of [1, 2, 3]) {
        const pushed = dingtalk.pushBotMessage(dingtalk.dmText(`${user}-${index}`, { senderStaffId: user }));
        await dingtalk.waitForAck(pushed.messageId);
      }
    }
    await openclaw.waitForRequests(2);
    await first.stop('SIGKILL');
    openclaw.setHandler((request) => ({ kind: 'stream', chunks: [`echo: ${request.lastUserText}`] }));

    await harness.start();
    await dingtalk.waitForWebhookPosts(6);
    const byUser = (user: string): string[] => delivered().filter((text) => text.includes(`${user}-`));
    expect(byUser('u1')).toEqual(['echo: u1-1', 'echo: u1-2', 'echo: u1-3']);
    expect(byUser('u2')).toEqual(['echo: u2-1', 'echo: u2-2', 'echo: u2-3']);
  });
});

describe('SIGTERM while turns run longer than the shutdown grace', () => {
  it('aborts them when the grace ends, exits 0, and the next start answers each exactly once', async () => {
    const { dingtalk, openclaw } = harness;
    const first = await harness.start({ server: { shutdownGraceMs: 300 } });
    await dingtalk.waitForConnections(1);
    openclaw.setHandler(() => ({ kind: 'hang' }));
    for (const user of ['g1', 'g2']) {
      const pushed = dingtalk.pushBotMessage(dingtalk.dmText(`${user} waits`, { senderStaffId: user }));
      await dingtalk.waitForAck(pushed.messageId);
    }
    await openclaw.waitForRequests(2);
    const status = await first.stop('SIGTERM');
    expect(status.code).toBe(0);
    const aborted = first.logs.filter((line) => line.msg.startsWith('turn aborted by shutdown'));
    expect(aborted).toHaveLength(2);
    expect(dingtalk.webhookPosts).toHaveLength(0);
    openclaw.setHandler((request) => ({ kind: 'stream', chunks: [`echo: ${request.lastUserText}`] }));

    await harness.start();
    await dingtalk.waitForWebhookPosts(2);
    expect(delivered().sort()).toEqual(['echo: g1 waits', 'echo: g2 waits']);
    expect(openclaw.requests).toHaveLength(4);
  });
});

describe('a second gateway on the same state folder', () => {
  it('exits with GW_STATE_LOCKED and leaves the first one answering', async () => {
    const { dingtalk } = harness;
    const first = await harness.start();
    await dingtalk.waitForConnections(1);

    await expect(harness.start()).rejects.toThrow(
      /exited during start \(\{"code":1,.*GW_STATE_LOCKED .*is in use by another process/s,
    );
    // The refused one never connected to DingTalk.
    expect(dingtalk.liveConnections()).toHaveLength(1);

    const pushed = dingtalk.pushBotMessage(dingtalk.dmText('still here'));
    await dingtalk.waitForAck(pushed.messageId);
    await dingtalk.waitForWebhookPosts(1);
    expect(delivered()).toEqual(['echo: still here']);
    expect((await first.stop('SIGTERM')).code).toBe(0);
  });
});
