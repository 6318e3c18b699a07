import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type BotMessageData, dmConversationId } from '../fakes/bot-message-factory.js';
import type { FakeConnection } from '../fakes/fake-dingtalk.js';
import { answersByConversation, deliveredAnswers } from '../helpers/answers.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import {
  deleteKeys,
  describeRedisAvailability,
  findTestRedis,
  listKeys,
  uniqueKeyPrefix,
} from '../helpers/redis.js';

/** Short lease and sweep, so a crashed replica's conversations are taken over within seconds. */
const LEASE_TTL_MS = 1_000;
const SWEEP_INTERVAL_MS = 200;

const redis = await findTestRedis();
describeRedisAvailability(redis, 'test/integration/replicas.test.ts');

// Registered only when a Redis answers (no skipped tests): the test above says which way it ran.
if (redis.isAvailable) describeReplicas(redis.url);

interface Replica {
  readonly gateway: GatewayProcess;
  /** Its Stream connection on the fake DingTalk. */
  readonly connection: FakeConnection;
}

function describeReplicas(url: string): void {
  let keyPrefix = '';

  // Registered before the harness, so it runs after the harness killed the gateways.
  afterEach(async () => {
    await deleteKeys(url, keyPrefix);
  });

  const harness = useGatewayHarness({
    waitForConnection: false,
    config: () => ({
      state: {
        redisUrl: url,
        redisKeyPrefix: keyPrefix,
        leaseTtlMs: LEASE_TTL_MS,
        sweepIntervalMs: SWEEP_INTERVAL_MS,
      },
    }),
  });

  beforeEach(() => {
    keyPrefix = uniqueKeyPrefix('replicas');
  });

  /** Starts one more gateway process and returns it with the Stream connection it opened. */
  async function startReplica(override?: Record<string, unknown>): Promise<Replica> {
    const before = harness.dingtalk.connections.length;
    const gateway = await harness.start(override);
    const connections = await harness.dingtalk.waitForConnections(before + 1);
    return { gateway, connection: connections[before]! };
  }

  function dm(user: string, index: number): BotMessageData {
    return harness.dingtalk.dmText(`${user}-${index}`, { senderStaffId: user });
  }

  /** Answers DingTalk took, per user, in delivery order. */
  function answersPerUser(users: readonly string[]): Map<string, string[]> {
    const robotCode = harness.dingtalk.options.clientId;
    const conversationOf = new Map(users.map((user) => [user, dmConversationId(user, robotCode)]));
    const byConversation = answersByConversation(deliveredAnswers(harness.dingtalk, conversationOf));
    return new Map(users.map((user) => [user, byConversation.get(conversationOf.get(user)!) ?? []]));
  }

  function deliveredCount(): number {
    return deliveredAnswers(harness.dingtalk, new Map()).length;
  }

  /** Pushes message `index` of every user (each to a random live connection) and waits for the ACKs. */
  async function pushRound(users: readonly string[], index: number): Promise<void> {
    const pushed = users.map((user) => harness.dingtalk.pushBotMessage(dm(user, index)));
    await Promise.all(pushed.map((push) => harness.dingtalk.waitForAck(push.messageId)));
  }

  /** Waits until the shared inbox is empty, then a little longer, so a late duplicate would show. */
  async function waitUntilIdle(replica: Replica): Promise<void> {
    await expect
      .poll(() => replica.gateway.metric('gateway_inbox_depth'), { timeout: 10_000, interval: 100 })
      .toBe(0);
    await sleep(2 * SWEEP_INTERVAL_MS);
  }

  function expected(user: string, count: number): string[] {
    return Array.from({ length: count }, (_, index) => `echo: ${user}-${index + 1}`);
  }

  function acceptedBy(replica: Replica): number {
    return replica.gateway.logs.filter((line) => line.msg === 'message accepted').length;
  }

  describe('two replicas on one Redis', () => {
    it('answers every message of several conversations exactly once, in order per conversation', async () => {
      const { openclaw } = harness;
      openclaw.setHandler((request) => ({
        kind: 'stream',
        chunks: ['echo: ', request.lastUserText],
        chunkDelayMs: 15,
      }));
      const a = await startReplica();
      const b = await startReplica();
      const users = Array.from({ length: 6 }, (_, index) => `rep-u${index}`);
      const rounds = 5;
      // Each round waits for its ACKs, so the acceptance order within a conversation is the push order.
      for (let index = 1; index <= rounds; index += 1) await pushRound(users, index);

      await expect.poll(deliveredCount, { timeout: 15_000, interval: 100 }).toBe(users.length * rounds);
      await waitUntilIdle(a);
      const answers = answersPerUser(users);
      for (const user of users) expect([user, answers.get(user)]).toEqual([user, expected(user, rounds)]);
      expect(deliveredCount()).toBe(users.length * rounds);
      expect(openclaw.requests).toHaveLength(users.length * rounds);
      // DingTalk spread the messages over both replicas (30 random pushes).
      expect(acceptedBy(a)).toBeGreaterThan(0);
      expect(acceptedBy(b)).toBeGreaterThan(0);
      expect(acceptedBy(a) + acceptedBy(b)).toBe(users.length * rounds);
      expect(await listKeys(url, `${keyPrefix}queue:`)).toEqual([]);
    });

    it('drops a redelivery that reaches the other replica, while the message is answered and after', async () => {
      const { dingtalk, openclaw } = harness;
      openclaw.setHandler((request) => ({
        kind: 'stream',
        chunks: ['echo: ', request.lastUserText],
        chunkDelayMs: 300,
      }));
      const a = await startReplica();
      const b = await startReplica();
      const message = dm('redelivered', 1);

      const first = dingtalk.pushBotMessage(message, { connection: a.connection });
      await dingtalk.waitForAck(first.messageId);
      await openclaw.waitForRequests(1);
      // DingTalk redelivers with a new messageId and the same msgId, to any connection.
      const whileAnswering = dingtalk.pushBotMessage(message, { connection: b.connection });
      await dingtalk.waitForAck(whileAnswering.messageId);
      await b.gateway.waitForLog(
        (line) => line.msg.startsWith('duplicate delivery') && line['messageId'] === whileAnswering.messageId,
      );

      await expect.poll(deliveredCount, { timeout: 5_000 }).toBe(1);
      const afterAnswer = dingtalk.pushBotMessage(message, { connection: b.connection });
      await dingtalk.waitForAck(afterAnswer.messageId);
      await b.gateway.waitForLog(
        (line) => line.msg.startsWith('duplicate delivery') && line['messageId'] === afterAnswer.messageId,
      );
      await waitUntilIdle(b);
      expect(answersPerUser(['redelivered']).get('redelivered')).toEqual(['echo: redelivered-1']);
      expect(openclaw.requests).toHaveLength(1);
      expect(acceptedBy(a)).toBe(1);
      expect(acceptedBy(b)).toBe(0);
    });

    it('keeps a turn longer than the lease TTL to its replica by renewing the lease', async () => {
      const { dingtalk, openclaw } = harness;
      // Three chunks 700 ms apart: the turn outlives LEASE_TTL_MS about twice over.
      openclaw.setHandler((request) => ({
        kind: 'stream',
        chunks: ['echo: ', request.lastUserText, '.'],
        chunkDelayMs: 700,
      }));
      const a = await startReplica();
      const b = await startReplica();
      const long = dingtalk.pushBotMessage(dm('long', 1), { connection: a.connection });
      await dingtalk.waitForAck(long.messageId);

      await expect.poll(deliveredCount, { timeout: 10_000, interval: 100 }).toBe(1);
      await waitUntilIdle(a);
      expect(answersPerUser(['long']).get('long')).toEqual(['echo: long-1.']);
      // B's sweep ran every SWEEP_INTERVAL_MS meanwhile and never took the conversation over.
      expect(openclaw.requests).toHaveLength(1);
      expect(openclaw.requests[0]!.aborted).toBe(false);
      expect(a.gateway.logs.filter((line) => line.msg.startsWith('conversation lease lost'))).toEqual([]);
      expect(b.gateway.logs.filter((line) => line.msg === 'reply delivered')).toEqual([]);
    });

    it('lets the other replica answer a conversation that waits here for a turn slot', async () => {
      const { dingtalk, openclaw } = harness;
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      openclaw.setHandler(async (request) => {
        if (request.lastUserText === 'slow-1') await gate;
        return { kind: 'stream', chunks: ['echo: ', request.lastUserText] };
      });
      const a = await startReplica({ openclaw: { maxConcurrentTurns: 1 } });
      const b = await startReplica();
      const slow = dingtalk.pushBotMessage(dm('slow', 1), { connection: a.connection });
      await dingtalk.waitForAck(slow.messageId);
      await openclaw.waitForRequests(1);
      // Accepted by A, whose only slot is taken: B's sweep finds it waiting and answers it.
      const quick = dingtalk.pushBotMessage(dm('quick', 1), { connection: a.connection });
      await dingtalk.waitForAck(quick.messageId);

      try {
        await expect.poll(deliveredCount, { timeout: 5_000, interval: 50 }).toBe(1);
        expect(answersPerUser(['quick']).get('quick')).toEqual(['echo: quick-1']);
        expect(b.gateway.logs.filter((line) => line.msg === 'reply delivered')).toHaveLength(1);
      } finally {
        openGate();
      }
      await expect.poll(deliveredCount, { timeout: 5_000 }).toBe(2);
      await waitUntilIdle(a);
      expect(answersPerUser(['slow', 'quick'])).toEqual(
        new Map([
          ['slow', ['echo: slow-1']],
          ['quick', ['echo: quick-1']],
        ]),
      );
      expect(openclaw.requests).toHaveLength(2);
      expect(acceptedBy(a)).toBe(2);
      expect(deliveredCount()).toBe(2);
    });

    it('stops a turn running on one replica when /stop reaches the other', async () => {
      const { dingtalk, openclaw } = harness;
      openclaw.setHandler((request) =>
        request.lastUserText === 'go on' ? { kind: 'hang' } : { kind: 'stream', chunks: ['unexpected'] },
      );
      const a = await startReplica();
      const b = await startReplica();
      const running = dingtalk.pushBotMessage(dingtalk.dmText('go on', { senderStaffId: 'stopper' }), {
        connection: a.connection,
      });
      await dingtalk.waitForAck(running.messageId);
      await openclaw.waitForRequests(1);

      dingtalk.pushBotMessage(dingtalk.dmText('/stop', { senderStaffId: 'stopper' }), {
        connection: b.connection,
      });
      await a.gateway.waitForLog((line) => line.msg === 'turn stopped at the request of another replica');
      await expect.poll(deliveredCount, { timeout: 5_000 }).toBe(1);
      await waitUntilIdle(a);
      const [answer] = answersPerUser(['stopper']).get('stopper') ?? [];
      expect(answer).toMatch(/⏹️/);
      expect(openclaw.requests).toHaveLength(1);
      expect(openclaw.requests[0]!.aborted).toBe(true);
      expect(deliveredCount()).toBe(1);
    });

    it(
      'finishes the conversations of a replica killed mid-turn once its leases expired',
      { timeout: 40_000 },
      async () => {
        const { dingtalk, openclaw } = harness;
        // Slow turns: nothing is sent before the kill, so every answer must arrive exactly once.
        openclaw.setHandler((request) => ({
          kind: 'stream',
          chunks: ['echo: ', request.lastUserText],
          chunkDelayMs: 600,
        }));
        const a = await startReplica();
        const b = await startReplica();
        const users = ['crash-u0', 'crash-u1', 'crash-u2', 'crash-u3'];
        // The first message of two conversations goes to each replica, so both have turns running.
        const firsts = users.map((user, index) =>
          dingtalk.pushBotMessage(dm(user, 1), { connection: [a, a, b, b][index]!.connection }),
        );
        await Promise.all(firsts.map((push) => dingtalk.waitForAck(push.messageId)));
        for (const index of [2, 3]) await pushRound(users, index);
        await openclaw.waitForRequests(users.length);
        await a.gateway.waitForLog((line) => line.msg === 'openclaw turn started');

        expect(dingtalk.webhookPosts).toHaveLength(0);
        const killedAtMs = Date.now();
        await a.gateway.kill();
        expect(dingtalk.webhookPosts).toHaveLength(0);

        await expect.poll(deliveredCount, { timeout: 25_000, interval: 100 }).toBe(users.length * 3);
        await waitUntilIdle(b);
        const answers = answersPerUser(users);
        for (const user of users) expect([user, answers.get(user)]).toEqual([user, expected(user, 3)]);
        expect(deliveredCount()).toBe(users.length * 3);

        // The turns the dead replica had running (their requests were cut) were asked again by the
        // survivor, and only once the lease ran out: without it the survivor's sweep would have taken
        // them within SWEEP_INTERVAL_MS.
        const interrupted = openclaw.requests.filter((request) => request.aborted);
        expect(interrupted.length).toBeGreaterThan(0);
        for (const cut of interrupted) {
          const resumed = openclaw.requests.find(
            (request) => request.receivedAtMs > killedAtMs && request.lastUserText === cut.lastUserText,
          );
          expect(resumed?.sessionKey).toBe(cut.sessionKey);
          expect(resumed!.receivedAtMs - killedAtMs).toBeGreaterThanOrEqual(LEASE_TTL_MS / 2);
        }
        expect(openclaw.requests).toHaveLength(users.length * 3 + interrupted.length);
      },
    );
  });
}
