import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { cardFaults } from '../fakes/fake-dingtalk-card-records.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';

const FAST_CARD = { firstUpdateAfterMs: 200, intervalGrowth: 2 };

const harness = useGatewayHarness({
  config: { channels: { dingtalk: { replyMode: 'card', card: FAST_CARD } } },
});

/** Starts the gateway in card mode with `dingtalkOverride` merged into `channels.dingtalk`. */
function startGateway(dingtalkOverride: Record<string, unknown> = {}): Promise<GatewayProcess> {
  return harness.start({ channels: { dingtalk: dingtalkOverride } });
}

function markdownTexts(): string[] {
  const { dingtalk } = harness;
  return dingtalk.webhookPosts.map((post) => (post.body as { markdown: { text: string } }).markdown.text);
}

/** A reply streamed over about `seconds`, in 10 pieces. */
function slowReply(seconds: number): { chunks: string[]; chunkDelayMs: number; text: string } {
  const chunks = Array.from({ length: 10 }, (_, index) => `part ${index}. `);
  return { chunks, chunkDelayMs: (seconds * 1000) / chunks.length, text: chunks.join('').trim() };
}

describe('streaming AI card', () => {
  it('creates the card at once, streams within the call budget and finishes with the whole reply', async () => {
    const { dingtalk, openclaw } = harness;
    const gateway = await startGateway();
    const reply = slowReply(3);
    openclaw.enqueueReplies({ kind: 'stream', chunks: reply.chunks, chunkDelayMs: reply.chunkDelayMs });
    dingtalk.pushBotMessage(dingtalk.dmText('stream it', { senderStaffId: 'card-user' }));
    const card = await dingtalk.cards.waitForCard((candidate) => candidate.flowStatus === '3', 10_000);

    expect(card.flowStatusHistory[0]).toBe('1');
    expect(card.text).toBe(reply.text);
    expect(card.spaces[0]).toMatchObject({ spaceType: 'IM_ROBOT', spaceId: 'card-user', isDelivered: true });
    const calls = dingtalk.cards.callsFor(card.outTrackId);
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(calls.filter((call) => call.kind === 'streaming').length).toBeGreaterThanOrEqual(1);
    // Every streamed content was a prefix of the final text (full text each time, never a rewrite).
    for (const content of card.contentHistory) expect(reply.text.startsWith(content.trim())).toBe(true);
    expect(dingtalk.webhookPosts).toHaveLength(0);
    expect(await gateway.metric('dingtalk_api_calls_total', { endpoint: 'card/createAndDeliver' })).toBe(1);
  });

  it('finishes the card of a turn cut by kill -9 as interrupted and answers in a new card', async () => {
    const { dingtalk, openclaw } = harness;
    const stateDir = mkdtempSync(join(tmpdir(), 'gateway-card-crash-'));
    try {
      const first = await harness.start({ state: { dir: stateDir } });
      openclaw.enqueueReplies({ kind: 'stream', chunks: ['never ', 'finished'], chunkDelayMs: 2_000 });
      dingtalk.pushBotMessage(dingtalk.dmText('crash mid card', { senderStaffId: 'card-crash' }));
      const cut = await dingtalk.cards.waitForCard((card) => card.flowStatus === '1', 10_000);
      await openclaw.waitForRequests(1);
      await first.stop('SIGKILL');

      await harness.start({ state: { dir: stateDir } });
      const answer = await dingtalk.cards.waitForCard((card) => card.flowStatus === '3', 15_000);
      expect(answer.outTrackId).not.toBe(cut.outTrackId);
      expect(answer.text).toBe('echo: crash mid card');
      const retired = dingtalk.cards.get(cut.outTrackId)!;
      expect(retired.flowStatusHistory).toEqual(['1', '5']);
      expect(retired.data['msgContent']).toMatch(/interrupted/);
      expect(dingtalk.webhookPosts).toHaveLength(0);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('keeps a long reply within 6 card calls (the budget of a 60-second reply, on a faster clock)', async () => {
    const { dingtalk, openclaw } = harness;
    await startGateway({ card: { firstUpdateAfterMs: 100, intervalGrowth: 2.5 } });
    const reply = slowReply(4);
    openclaw.enqueueReplies({ kind: 'stream', chunks: reply.chunks, chunkDelayMs: reply.chunkDelayMs });
    dingtalk.pushBotMessage(dingtalk.groupText('long one', { conversationId: 'cidCards==' }));
    const card = await dingtalk.cards.waitForCard((candidate) => candidate.flowStatus === '3', 15_000);
    expect(dingtalk.cards.callsFor(card.outTrackId).length).toBe(6);
    expect(card.spaces[0]).toMatchObject({ spaceType: 'IM_GROUP', spaceId: 'cidCards==' });
    expect(card.text).toBe(reply.text);
  });

  it('falls back to markdown when the card cannot be created (QpsLimit), then cools down', async () => {
    const { dingtalk } = harness;
    const gw = await startGateway();
    dingtalk.cards.script((request) => (request.kind === 'create' ? cardFaults.qpsLimit() : undefined));
    dingtalk.pushBotMessage(dingtalk.dmText('first', { senderStaffId: 'u1' }));
    await dingtalk.waitForWebhookPosts(1);
    dingtalk.pushBotMessage(dingtalk.dmText('second', { senderStaffId: 'u1' }));
    await dingtalk.waitForWebhookPosts(2);
    expect(markdownTexts()).toEqual(['echo: first', 'echo: second']);
    // The second reply did not even try a card: cards are cooling down.
    expect(dingtalk.cards.calls.filter((call) => call.kind === 'create')).toHaveLength(1);
    await gw.waitForLog((line) => line.msg === 'cards disabled for a while' && line['kind'] === 'throttled');
  });

  it('sends the rest as markdown when streaming fails midway: nothing lost, nothing shown twice', async () => {
    const { dingtalk, openclaw } = harness;
    await startGateway();
    dingtalk.cards.script((request) =>
      request.kind === 'streaming' && request.kindNumber >= 2 ? cardFaults.permission() : undefined,
    );
    const reply = slowReply(3);
    openclaw.enqueueReplies({ kind: 'stream', chunks: reply.chunks, chunkDelayMs: reply.chunkDelayMs });
    dingtalk.pushBotMessage(dingtalk.dmText('partial card', { senderStaffId: 'u2' }));
    const [post] = await dingtalk.waitForWebhookPosts(1, 10_000);
    const [card] = [...dingtalk.cards.instances.values()];
    const shown = card!.text.trim();
    expect(shown.length).toBeGreaterThan(0);
    const rest = (post!.body as { markdown: { text: string } }).markdown.text;
    expect(`${shown} ${rest}`.replace(/\s+/g, ' ')).toBe(reply.text);
  });

  it('marks the card failed when the agent fails', async () => {
    const { dingtalk, openclaw } = harness;
    await startGateway({});
    openclaw.enqueueReplies({ kind: 'json', status: 401, body: { error: { message: 'Unauthorized' } } });
    dingtalk.pushBotMessage(dingtalk.dmText('fail', { senderStaffId: 'u3' }));
    const card = await dingtalk.cards.waitForCard((candidate) => candidate.flowStatus === '5');
    expect(card.text).toContain('⚠️');
  });
});

describe('working indicator', () => {
  it('puts a reaction on the message while the agent works and takes it back after', async () => {
    const { dingtalk, openclaw } = harness;
    await startGateway({
      replyMode: 'markdown',
      indicator: { reaction: true, reactionName: '🤔思考中', noticeAfterMs: 0 },
    });
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['thinking ', 'done'], chunkDelayMs: 300 });
    const message = dingtalk.dmText('react', { senderStaffId: 'r1' });
    dingtalk.pushBotMessage(message);
    await dingtalk.emotions.waitForReaction(message.msgId, 'added');
    expect(dingtalk.emotions.activeReactions(message.msgId)).toHaveLength(1);
    await dingtalk.waitForWebhookPosts(1);
    await dingtalk.emotions.waitForReaction(message.msgId, 'recalled');
    expect(dingtalk.emotions.activeReactions(message.msgId)).toHaveLength(0);
    expect(dingtalk.emotions.reactionsOn(message.msgId)[0]).toMatchObject({ emotionName: '🤔思考中' });
  });

  it('sends a short "working on it" message when the answer is slow to start', async () => {
    const { dingtalk, openclaw } = harness;
    await startGateway({
      replyMode: 'markdown',
      indicator: { reaction: false, reactionName: 'x', noticeAfterMs: 300 },
    });
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['late answer'], chunkDelayMs: 900 });
    dingtalk.pushBotMessage(dingtalk.dmText('slow'));
    await dingtalk.waitForWebhookPosts(2, 5_000);
    expect(markdownTexts()[0]).toContain('Working on it');
    expect(markdownTexts()[1]).toBe('late answer');
  });
});
