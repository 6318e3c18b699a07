/**
 * Contract test: the compiled daemon against the REAL OpenClaw gateway (the release pinned in
 * openclaw-version.ts, installed by scripts/openclaw-peer.sh), with a fake DingTalk on one side and a
 * fake model behind OpenClaw on the other. Run with `npm run test:openclaw`.
 *
 * What the fakes in test/integration assume about OpenClaw is checked here against the real thing:
 * SSE replies reach the chat, our session keys select OpenClaw's sessions (and so its history), and a
 * wrong token is a 401 the daemon explains.
 *
 * Not covered yet (issue 7, later part): inbound pictures as `image_url` parts and the agent's
 * `[DING:IMAGE …]` tags passing through OpenClaw verbatim.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { NOTICES } from '../../src/bridge/notices.js';
import { FakeDingTalk } from '../fakes/fake-dingtalk.js';
import { isAcceptedPost, replyText } from '../helpers/answers.js';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { testConfig } from '../helpers/test-config.js';
import { FakeModel } from './fake-model.js';
import { OpenClawPeer } from './openclaw-peer.js';
import { OPENCLAW_VERSION } from './openclaw-version.js';

/** OpenClaw's first turn after start prepares the agent workspace: 10–30 s on a 2-vCPU VM. */
const TURN_TIMEOUT_MS = 90_000;
/** Every test message carries one marker; the fake model answers it with {@link answerFor}. */
const MARKER = /\bturn-[0-9a-f]{8}\b/;

function newMarker(): string {
  return `turn-${randomBytes(4).toString('hex')}`;
}

function answerFor(marker: string): string {
  return `模型收到了 ${marker}。The fake model answers ${marker}.`;
}

/**
 * How OpenClaw stores a session key sent as `x-openclaw-session-key`: prefixed with the agent and
 * lower-cased (observed on 2026.9.6; its docs call the stored keys "canonical" and warn they are
 * lower-case). Case-sensitive DingTalk ids that differ only in case therefore share one session.
 */
function storedKey(sent: string): string {
  return `agent:main:${sent.toLowerCase()}`;
}

/** The texts of the replies DingTalk accepted in `conversationId`, once there are `count`. */
async function repliesIn(dingtalk: FakeDingTalk, conversationId: string, count: number): Promise<string[]> {
  const replies = (): string[] =>
    dingtalk.webhookPosts
      .filter((post) => post.conversationId === conversationId && isAcceptedPost(post))
      .map((post) => replyText(post.body) ?? '');
  return dingtalk.waitFor(
    () => (replies().length >= count ? replies() : undefined),
    TURN_TIMEOUT_MS,
    () => `${count} replies in ${conversationId} (have ${JSON.stringify(replies())})`,
  );
}

describe(`the daemon against the real OpenClaw ${OPENCLAW_VERSION}`, () => {
  let model: FakeModel;
  let openclaw: OpenClawPeer;
  let dingtalk: FakeDingTalk;
  let gateway: GatewayProcess;
  /** Stops what beforeAll started, newest first, even when it failed half-way. */
  const cleanups: (() => Promise<unknown>)[] = [];

  async function startDaemon(fake: FakeDingTalk, token: string): Promise<GatewayProcess> {
    const daemon = await GatewayProcess.start({
      config: testConfig(fake, openclaw.baseUrl, {
        openclaw: { token, timeoutMs: TURN_TIMEOUT_MS, connectTimeoutMs: 5_000 },
      }),
    });
    await fake.waitForConnections(1);
    return daemon;
  }

  /** The one model request of the agent turn that carried `marker`. */
  function turnOf(marker: string): { turnText: string; historyText: string } {
    const turns = model.turnsMentioning(marker);
    expect(turns, `model requests:\n${model.summary()}`).toHaveLength(1);
    return turns[0]!;
  }

  beforeAll(async () => {
    model = await FakeModel.start();
    cleanups.push(() => model.close());
    model.respond((request) => {
      const marker = MARKER.exec(request.turnText)?.[0];
      return marker === undefined ? undefined : answerFor(marker);
    });
    openclaw = await OpenClawPeer.start({ modelBaseUrl: model.baseUrl });
    cleanups.push(() => openclaw.stop());
    process.stdout.write(
      `OpenClaw ${OPENCLAW_VERSION} answered /health ${openclaw.startupMs} ms after launch\n`,
    );
    dingtalk = await FakeDingTalk.start();
    cleanups.push(() => dingtalk.close());
    gateway = await startDaemon(dingtalk, openclaw.token);
    cleanups.push(() => gateway.stop());
  }, 120_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }, 60_000);

  it('answers a DM with the model text, in the session of that sender', async () => {
    const marker = newMarker();
    const message = dingtalk.dmText(`你好 ${marker}`, { senderStaffId: 'manager4711', senderNick: '张三' });
    dingtalk.pushBotMessage(message);

    const [reply] = await repliesIn(dingtalk, message.conversationId, 1);
    expect(reply).toBe(answerFor(marker));
    expect(turnOf(marker).turnText).toContain(`你好 ${marker}`);
    expect(await openclaw.sessionKeys()).toContain(storedKey('dingtalk:default:dm:manager4711'));
    expect(gateway.rawStdout).not.toContain(openclaw.token);
  });

  it('answers a group mention with the model text, in the session of the group', async () => {
    const marker = newMarker();
    // A realistic openConversationId: mixed-case base64 with '+' and '/'.
    const conversationId = 'cid6KeBBLoRsYxZ+f/Nq2Ug8w==';
    const message = dingtalk.groupText(`天气如何？ ${marker}`, {
      senderStaffId: 'staff42',
      senderNick: '李四',
      conversationId,
    });
    dingtalk.pushBotMessage(message);

    const [reply] = await repliesIn(dingtalk, conversationId, 1);
    expect(reply).toBe(answerFor(marker));
    expect(turnOf(marker).turnText).toContain(`[From 李四 (id: staff42)]\n天气如何？ ${marker}`);
    const keys = await openclaw.sessionKeys();
    expect(keys).toContain(storedKey(`dingtalk:default:group:${conversationId}`));
    // The case of the conversation id is not kept (see storedKey).
    expect(keys).not.toContain(`agent:main:dingtalk:default:group:${conversationId}`);
  });

  it('keeps one history per conversation: a second turn sees the first, other conversations do not', async () => {
    const [first, second, otherDm, sameUserInGroup] = [newMarker(), newMarker(), newMarker(), newMarker()];
    const dm = (text: string): ReturnType<FakeDingTalk['dmText']> =>
      dingtalk.dmText(text, { senderStaffId: 'historyuser', senderNick: '王五' });

    const firstMessage = dm(`记住这个词: ${first}`);
    dingtalk.pushBotMessage(firstMessage);
    await repliesIn(dingtalk, firstMessage.conversationId, 1);
    dingtalk.pushBotMessage(dm(`我刚才说了什么？ ${second}`));
    const replies = await repliesIn(dingtalk, firstMessage.conversationId, 2);
    expect(replies).toEqual([answerFor(first), answerFor(second)]);

    const other = dingtalk.dmText(`hello ${otherDm}`, { senderStaffId: 'someoneelse' });
    const group = dingtalk.groupText(`in the group ${sameUserInGroup}`, {
      senderStaffId: 'historyuser',
      conversationId: 'cidHistoryGroup0000000w==',
    });
    dingtalk.pushBotMessage(other);
    dingtalk.pushBotMessage(group);
    await repliesIn(dingtalk, other.conversationId, 1);
    await repliesIn(dingtalk, group.conversationId, 1);

    // OpenClaw sends the model the stored history: the first turn and its answer, then the new turn.
    const secondTurn = turnOf(second);
    expect(secondTurn.historyText).toContain(first);
    expect(secondTurn.historyText).toContain(answerFor(first));
    expect(secondTurn.turnText).not.toContain(first);
    expect(turnOf(otherDm).historyText).not.toContain(first);
    expect(turnOf(sameUserInGroup).historyText).not.toContain(first);
  });

  it('reports a wrong token clearly: the user gets the auth notice, the log names openclaw.token', async () => {
    const wrongToken = 'wrong-openclaw-token-0123456789';
    const fake = await FakeDingTalk.start();
    onTestFinished(() => fake.close());
    const daemon = await startDaemon(fake, wrongToken);
    onTestFinished(async () => {
      await daemon.stop();
    });
    const marker = newMarker();
    const message = fake.dmText(`hello? ${marker}`);
    fake.pushBotMessage(message);

    const [reply] = await repliesIn(fake, message.conversationId, 1);
    expect(reply).toBe(NOTICES.auth);
    const warning = await daemon.waitForLog((line) => line.msg.startsWith('agent turn failed'));
    expect(JSON.stringify(warning['err'])).toMatch(/HTTP 401 \(Unauthorized\): check openclaw\.token/);
    expect(model.turnsMentioning(marker)).toHaveLength(0);
    expect(daemon.rawStdout).not.toContain(wrongToken);

    // The error body test/fakes/fake-openclaw.ts imitates.
    const direct = await fetch(`${openclaw.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${wrongToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw/main', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(direct.status).toBe(401);
    expect(await direct.json()).toEqual({ error: { message: 'Unauthorized', type: 'unauthorized' } });
  });
});
