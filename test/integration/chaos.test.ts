import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, expect, it } from 'vitest';

import { NOTICES } from '../../src/bridge/notices.js';
import { dmConversationId, groupConversationId } from '../fakes/bot-message-factory.js';
import type { BotMessageData } from '../fakes/bot-message-factory.js';
import type { FakeConnection, FakeDingTalk, PushedFrame, ScriptedResponse } from '../fakes/fake-dingtalk.js';
import { splitInThree, type FakeOpenClaw, type FakeOpenClawReply } from '../fakes/fake-openclaw.js';
import { answersByConversation, deliveredAnswers, replyText } from '../helpers/answers.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';

/**
 * Chaos run: a few hundred messages over many conversations while the Stream socket is dropped,
 * DingTalk asks to reconnect, connections/open refuses, session webhooks fail and OpenClaw
 * misbehaves. Every accepted message must get exactly one answer, in order per conversation.
 * `CHAOS_SEED=<n>` replays a run's decisions (timing still varies).
 */
const SEED = Number(process.env['CHAOS_SEED'] ?? 20_250_611);
const DM_COUNT = 24;
const GROUP_COUNT = 12;
const MESSAGE_COUNT = 240;
const TURN_ATTEMPTS = 3;
/** The fake re-pushes a frame nobody ACKed after this (the gateway must dedupe). */
const REDELIVER_AFTER_MS = 1_500;
const MAX_REDELIVERIES = 10;
/** Pause between two messages of one conversation, after the ACK of the first. */
const GAP_MIN_MS = 150;
const GAP_MAX_MS = 2_500;
const FAULT_GAP_MIN_MS = 500;
const FAULT_GAP_MAX_MS = 1_300;
/** How long a stalled socket stays open before it is dropped (the gateway may give up on it first). */
const STALL_MIN_MS = 300;
const STALL_MAX_MS = 2_500;
const ACK_TIMEOUT_MS = 20_000;
const ANSWERS_TIMEOUT_MS = 30_000;
/** Quiet time after the last expected answer during which no further answer may arrive. */
const SETTLE_MS = 1_500;
const WEBHOOK_FAULT_RATE = 0.1;
const TOKEN = /m-[dg]\d+-\d+/;

/** One round of socket faults; each round is dealt in a seeded random order. */
const SOCKET_FAULTS = ['drop', 'drop', 'stall', 'disconnect'] as const;
type SocketFault = (typeof SOCKET_FAULTS)[number];

type Kind = 'normal' | 'flaky' | 'hard' | 'midstream';

interface PlannedMessage {
  readonly text: string;
  readonly kind: Kind;
  /** Every webhook post of its answer fails, so the answer must take the proactive API. */
  readonly isWebhookDead: boolean;
  readonly expectedAnswer: string;
}

interface PlannedConversation {
  readonly conversationId: string;
  readonly staffId: string | undefined;
  readonly build: (text: string) => BotMessageData;
  readonly messages: PlannedMessage[];
}

interface ChaosStats {
  drops: number;
  stalls: number;
  disconnects: number;
  heldPushes: number;
  webhookFaults: number;
  openclawFaults: number;
}

/** mulberry32: a tiny seeded PRNG with values in [0, 1). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A value in [0, 1) fixed by the seed and `key`, whatever order the requests come in. */
function unitHash(key: string): number {
  let hash = 0x811c9dc5 ^ SEED;
  for (let index = 0; index < key.length; index += 1) {
    hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  }
  return prng(hash)();
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const result = [...items];
  for (let index = result.length - 1; index > 0; index -= 1) {
    const other = between(random, 0, index + 1);
    [result[index], result[other]] = [result[other]!, result[index]!];
  }
  return result;
}

function between(random: () => number, min: number, max: number): number {
  return Math.floor(min + random() * (max - min));
}

function expectedAnswer(text: string, kind: Kind): string {
  switch (kind) {
    case 'normal':
    case 'flaky':
      return `echo: ${text}`;
    case 'hard':
      return NOTICES.unavailable;
    case 'midstream':
      return `echo: ${text} part\n\n${NOTICES.interrupted}`;
  }
}

function planScenario(dingtalk: FakeDingTalk, random: () => number): PlannedConversation[] {
  const conversations: PlannedConversation[] = [];
  for (let index = 0; index < DM_COUNT; index += 1) {
    const staffId = `chaos-user-${index}`;
    conversations.push({
      conversationId: dmConversationId(staffId, dingtalk.options.clientId),
      staffId,
      build: (text) => dingtalk.dmText(text, { senderStaffId: staffId, senderNick: `用户${index}` }),
      messages: [],
    });
  }
  for (let index = 0; index < GROUP_COUNT; index += 1) {
    const title = `chaos-group-${index}`;
    conversations.push({
      conversationId: groupConversationId(title),
      staffId: undefined,
      build: (text) => {
        const member = between(random, 0, 4);
        return dingtalk.groupText(text, {
          conversationTitle: title,
          senderStaffId: `member-${member}`,
          senderNick: `成员${member}`,
        });
      },
      messages: [],
    });
  }
  for (let index = 0; index < MESSAGE_COUNT; index += 1) {
    const conversationIndex = index % conversations.length;
    const conversation = conversations[conversationIndex]!;
    const prefix = conversationIndex < DM_COUNT ? 'd' : 'g';
    const text = `m-${prefix}${conversationIndex}-${conversation.messages.length}`;
    const roll = random();
    const kind: Kind = roll < 0.05 ? 'hard' : roll < 0.1 ? 'midstream' : roll < 0.2 ? 'flaky' : 'normal';
    // A dead webhook is keyed on the answer's text, which a notice alone does not carry.
    const isWebhookDead = kind !== 'hard' && random() < 0.04;
    conversation.messages.push({ text, kind, isWebhookDead, expectedAnswer: expectedAnswer(text, kind) });
  }
  return conversations;
}

/** Maps every pushed frame to the first delivery of its message, and knows which messages were ACKed. */
class AckIndex {
  readonly #dingtalk: FakeDingTalk;
  readonly #rootOf = new Map<string, string>();
  readonly #ackedRoots = new Set<string>();
  #pushCursor = 0;
  #ackCursor = 0;

  constructor(dingtalk: FakeDingTalk) {
    this.#dingtalk = dingtalk;
  }

  isAcked(rootMessageId: string): boolean {
    const { pushes, acks } = this.#dingtalk;
    for (; this.#pushCursor < pushes.length; this.#pushCursor += 1) {
      const push = pushes[this.#pushCursor]!;
      this.#rootOf.set(push.messageId, push.redeliveryOf ?? push.messageId);
    }
    for (; this.#ackCursor < acks.length; this.#ackCursor += 1) {
      const root = this.#rootOf.get(acks[this.#ackCursor]!.messageId);
      if (root !== undefined) this.#ackedRoots.add(root);
    }
    return this.#ackedRoots.has(rootMessageId);
  }
}

/** One chaos run against a started gateway: drives pushes and faults, scripts both fakes. */
class ChaosRun {
  readonly stats: ChaosStats = {
    drops: 0,
    stalls: 0,
    disconnects: 0,
    heldPushes: 0,
    webhookFaults: 0,
    openclawFaults: 0,
  };
  readonly conversations: PlannedConversation[];
  /** First delivery of every message, by message text. */
  readonly roots = new Map<string, PushedFrame>();
  /** Per message text: the replies OpenClaw gave, in order. */
  readonly asks = new Map<string, FakeOpenClawReply['kind'][]>();
  readonly #dingtalk: FakeDingTalk;
  readonly #planned = new Map<string, PlannedMessage>();
  readonly #webhookPosts = new Map<string, number>();
  readonly #acks: AckIndex;
  readonly #timers = new Set<NodeJS.Timeout>();
  #isStopped = false;

  constructor(dingtalk: FakeDingTalk, openclaw: FakeOpenClaw) {
    this.#dingtalk = dingtalk;
    this.#acks = new AckIndex(dingtalk);
    this.conversations = planScenario(dingtalk, prng(SEED));
    for (const message of this.conversations.flatMap((c) => c.messages))
      this.#planned.set(message.text, message);
    openclaw.setHandler((request) => this.#agentReply(request.lastUserText));
    dingtalk.scriptWebhook((post) => this.#webhookAnswer(post.body));
  }

  get messages(): PlannedMessage[] {
    return [...this.#planned.values()];
  }

  /** Runs every conversation concurrently with the fault injector; rejects with the first failure. */
  async drive(): Promise<void> {
    const runners = this.conversations.map((conversation, index) =>
      this.#runConversation(conversation, prng(SEED + 1 + index)).catch((error: unknown) => {
        this.#isStopped = true;
        throw error;
      }),
    );
    const faults = this.#injectFaults(prng(SEED - 1), Promise.allSettled(runners));
    const results = await Promise.allSettled([...runners, faults]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  /** Per conversation, the answers still missing (by message text); empty when all arrived. */
  missingAnswers(): string[] {
    const got = answersByConversation(deliveredAnswers(this.#dingtalk, this.dmConversationByStaffId()));
    return this.conversations.flatMap((conversation) =>
      conversation.messages.slice(got.get(conversation.conversationId)?.length ?? 0).map((m) => m.text),
    );
  }

  dmConversationByStaffId(): Map<string, string> {
    return new Map(
      this.conversations.flatMap((c) => (c.staffId === undefined ? [] : [[c.staffId, c.conversationId]])),
    );
  }

  expectedAnswers(): Map<string, string[]> {
    return new Map(
      this.conversations.map((c) => [c.conversationId, c.messages.map((m) => m.expectedAnswer)]),
    );
  }

  /** How many answer streams OpenClaw sent for `text` (with or without a trailing error event). */
  completeStreams(text: string): number {
    return (this.asks.get(text) ?? []).filter((kind) => kind === 'stream').length;
  }

  /** Messages none of whose deliveries was ACKed. */
  unackedMessages(): string[] {
    return this.messages
      .filter((m) => {
        const root = this.roots.get(m.text);
        return root === undefined || !this.#acks.isAcked(root.messageId);
      })
      .map((m) => m.text);
  }

  /** Ends the fault injection and the conversations (after a failure, or at clean-up). */
  stop(): void {
    this.#isStopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  async #runConversation(conversation: PlannedConversation, random: () => number): Promise<void> {
    await sleep(between(random, 0, GAP_MAX_MS));
    for (const message of conversation.messages) {
      if (this.#isStopped) return;
      const root = await this.#pushWhenConnected(conversation.build(message.text));
      this.roots.set(message.text, root);
      await this.#dingtalk.waitFor(
        () => (this.#acks.isAcked(root.messageId) ? true : undefined),
        ACK_TIMEOUT_MS,
        () => `ACK of ${message.text} (first messageId ${root.messageId}, or a redelivery of it)`,
      );
      await sleep(between(random, GAP_MIN_MS, GAP_MAX_MS));
    }
  }

  /** DingTalk holds a message while no connection is up: push again once one is. */
  async #pushWhenConnected(data: BotMessageData): Promise<PushedFrame> {
    for (let tries = 1; ; tries += 1) {
      try {
        return this.#dingtalk.pushBotMessage(data);
      } catch (error) {
        const isNoConnection =
          error instanceof Error && error.message.includes('no eligible live connection');
        if (!isNoConnection || tries >= 100 || this.#isStopped) throw error;
        this.stats.heldPushes += 1;
        await this.#dingtalk.waitFor(
          () => (this.#dingtalk.liveConnections().some((c) => !c.isDraining) ? true : undefined),
          ACK_TIMEOUT_MS,
          () => 'a live, non-draining Stream connection',
        );
      }
    }
  }

  /**
   * Every few hundred ms one socket fault, dealt from shuffled rounds of {@link SOCKET_FAULTS} so
   * each kind happens in every run; one fault per round also makes connections/open refuse the next
   * 1-3 calls with 503.
   */
  async #injectFaults(random: () => number, done: Promise<unknown>): Promise<void> {
    let areRunnersDone = false;
    void done.then(() => (areRunnersDone = true));
    const isOver = (): boolean => areRunnersDone || this.#isStopped;
    let round: SocketFault[] = [];
    let refusingAt = 0;
    while (!isOver()) {
      await Promise.race([sleep(between(random, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS)), done]);
      const live = this.#dingtalk.liveConnections().filter((c) => !c.isDraining);
      const target = live[between(random, 0, live.length)];
      if (isOver() || target === undefined) continue;
      if (round.length === 0) {
        round = shuffled(SOCKET_FAULTS, random);
        refusingAt = between(random, 0, round.length);
      }
      if (round.length - 1 === refusingAt) this.#dingtalk.failNextOpens(between(random, 1, 4), 503);
      switch (round.pop()) {
        case 'stall':
          this.#stall(target, between(random, STALL_MIN_MS, STALL_MAX_MS));
          break;
        case 'drop':
          this.#dingtalk.dropConnection(target, 'terminate');
          this.stats.drops += 1;
          break;
        case 'disconnect':
        case undefined:
          this.#dingtalk.sendDisconnect({ connection: target });
          this.stats.disconnects += 1;
          break;
      }
    }
  }

  /**
   * The path from the gateway to DingTalk breaks while frames still go out: nothing the gateway sends
   * on this socket (ACKs, pongs) is heard any more, then the socket is dropped. Those frames are
   * redelivered elsewhere and the gateway must recognise them.
   */
  #stall(connection: FakeConnection, forMs: number): void {
    this.stats.stalls += 1;
    connection.socket.removeAllListeners('message');
    connection.socket.pause();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (connection.isOpen) this.#dingtalk.dropConnection(connection, 'terminate');
    }, forMs);
    this.#timers.add(timer);
  }

  #agentReply(userText: string): FakeOpenClawReply {
    const text = TOKEN.exec(userText)?.[0] ?? '';
    const planned = this.#planned.get(text);
    const asks = this.asks.get(text) ?? [];
    this.asks.set(text, asks);
    let reply: FakeOpenClawReply;
    if (planned === undefined) {
      reply = { kind: 'json', status: 400, body: { error: { message: `unplanned: ${userText}` } } };
    } else if (planned.kind === 'hard') {
      reply = { kind: 'json', status: 500, body: { error: { message: 'boom', type: 'api_error' } } };
    } else if (planned.kind === 'flaky' && asks.length === 0) {
      reply =
        unitHash(`flaky-mode:${text}`) < 0.5
          ? {
              kind: 'raw',
              status: 502,
              contentType: 'text/html',
              body: '<html><h1>502 Bad Gateway</h1></html>',
            }
          : { kind: 'destroy' };
    } else if (planned.kind === 'midstream') {
      reply = {
        kind: 'stream',
        chunks: ['echo: ', `${text} part`],
        chunkDelayMs: 5,
        error: { message: 'agent run failed' },
      };
    } else {
      reply = {
        kind: 'stream',
        chunks: splitInThree(`echo: ${text}`),
        chunkDelayMs: Math.floor(unitHash(`delay:${text}`) * 20),
      };
    }
    if (reply.kind !== 'stream' || reply.error !== undefined) this.stats.openclawFaults += 1;
    asks.push(reply.kind);
    return reply;
  }

  #webhookAnswer(body: unknown): ScriptedResponse | undefined {
    const text = TOKEN.exec(replyText(body) ?? '')?.[0] ?? 'notice';
    const post = (this.#webhookPosts.get(text) ?? 0) + 1;
    this.#webhookPosts.set(text, post);
    const isFault =
      this.#planned.get(text)?.isWebhookDead === true ||
      unitHash(`webhook:${text}:${post}`) < WEBHOOK_FAULT_RATE;
    if (!isFault) return undefined;
    this.stats.webhookFaults += 1;
    return unitHash(`webhook-mode:${text}:${post}`) < 0.5
      ? { status: 503, body: { code: 'ServiceUnavailable', message: 'injected' } }
      : { status: 200, body: { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' } };
  }
}

const harness = useGatewayHarness({
  dingtalk: () => ({
    redeliverAfterMs: REDELIVER_AFTER_MS,
    maxRedeliveries: MAX_REDELIVERIES,
    random: prng(SEED ^ 0x5bd1e995),
  }),
});
let run: ChaosRun | undefined;

// Registered after the harness, so it runs before the harness kills the gateway and closes the fakes.
afterEach(() => {
  run?.stop();
  run = undefined;
});

/** Waits for every planned answer; on timeout, names the missing ones and the gateway's complaints. */
async function waitForAllAnswers(chaos: ChaosRun, gw: GatewayProcess): Promise<void> {
  try {
    await harness.dingtalk.waitFor(
      () => (chaos.missingAnswers().length === 0 ? true : undefined),
      ANSWERS_TIMEOUT_MS,
      () => `an answer to every message; missing (seed ${SEED}): ${chaos.missingAnswers().join(', ')}`,
    );
  } catch (error) {
    const complaints = gw.logs
      .filter((line) => line.level >= 40)
      .slice(-30)
      .map((line) => JSON.stringify(line))
      .join('\n');
    throw new Error(`${String(error)}\nlast warnings/errors of the gateway:\n${complaints}`, {
      cause: error,
    });
  }
}

/**
 * Messages OpenClaw was asked about a wrong number of times: once each, twice for a flaky one (the
 * failed try and the retry), `TURN_ATTEMPTS` times for a hard one. Each with its requests' times.
 */
function wrongAskCounts(chaos: ChaosRun): string[] {
  const attempts: Record<Kind, number> = { normal: 1, flaky: 2, hard: TURN_ATTEMPTS, midstream: 1 };
  const { openclaw } = harness;
  return chaos.messages.flatMap((m) => {
    const asked = openclaw.requests.filter((request) => TOKEN.exec(request.lastUserText)?.[0] === m.text);
    if (asked.length === attempts[m.kind]) return [];
    const times = asked.map((request) => new Date(request.receivedAtMs).toISOString().slice(11, 23));
    return [
      `${m.text} (${m.kind}): asked ${asked.length}x, expected ${attempts[m.kind]}x at ${times.join(' ')}`,
    ];
  });
}

/** Non-hard messages that did not get exactly one complete answer stream from OpenClaw. */
function incompleteAsks(chaos: ChaosRun): string[] {
  return chaos.messages
    .filter((m) => m.kind !== 'hard' && chaos.completeStreams(m.text) !== 1)
    .map((m) => m.text);
}

/** Pushed frames that were never ACKed although their connection is still open. */
function unackedOnLiveConnections(): string[] {
  const { dingtalk } = harness;
  const acked = new Set(dingtalk.acks.map((ack) => ack.messageId));
  const closed = new Set(dingtalk.connections.filter((c) => c.closedAtMs !== undefined).map((c) => c.id));
  return dingtalk.pushes
    .filter((push) => !acked.has(push.messageId) && !closed.has(push.connectionId))
    .map((push) => push.messageId);
}

it('answers every message exactly once, in order, through socket, webhook and agent faults', async () => {
  const { dingtalk, openclaw } = harness;
  const startedMs = Date.now();
  const gateway = await harness.start({
    log: { level: 'info' },
    delivery: { turnAttempts: TURN_ATTEMPTS },
  });
  const chaos = new ChaosRun(dingtalk, openclaw);
  run = chaos;

  await chaos.drive();
  await waitForAllAnswers(chaos, gateway);
  // Nothing may arrive after the last expected answer (late duplicates).
  await sleep(SETTLE_MS);

  const answers = deliveredAnswers(dingtalk, chaos.dmConversationByStaffId());
  const messages = chaos.messages;
  const accepted = await gateway.metric('gateway_messages_total', { outcome: 'accepted' });
  const deduped = await gateway.metric('gateway_messages_total', { outcome: 'deduped' });
  const proactive = answers.filter((answer) => answer.route === 'proactive').length;
  const refusedOpens = dingtalk.openRequests.filter((request) => request.status === 503).length;
  const redeliveries = dingtalk.pushes.filter((push) => push.redeliveryOf !== undefined).length;
  const kinds = messages.map((m) => m.kind);
  const { stats } = chaos;
  process.stdout.write(
    `chaos seed=${SEED} messages=${messages.length} answers=${answers.length} ` +
      `webhook=${answers.length - proactive} proactive=${proactive} ` +
      `flaky=${kinds.filter((k) => k === 'flaky').length} hard=${kinds.filter((k) => k === 'hard').length} ` +
      `midstream=${kinds.filter((k) => k === 'midstream').length} drops=${stats.drops} stalls=${stats.stalls} ` +
      `disconnects=${stats.disconnects} refusedOpens=${refusedOpens} connections=${dingtalk.connections.length} ` +
      `heldPushes=${stats.heldPushes} redeliveries=${redeliveries} deduped=${deduped} ` +
      `webhookFaults=${stats.webhookFaults} openclawFaults=${stats.openclawFaults} ` +
      `wallMs=${Date.now() - startedMs}\n`,
  );

  expect(answersByConversation(answers)).toEqual(chaos.expectedAnswers());
  expect(chaos.unackedMessages()).toEqual([]);
  expect(unackedOnLiveConnections()).toEqual([]);
  expect([...new Set(dingtalk.acks.map((ack) => ack.code))]).toEqual([200]);
  expect(accepted).toBe(MESSAGE_COUNT);
  expect(wrongAskCounts(chaos)).toEqual([]);
  expect(incompleteAsks(chaos)).toEqual([]);
  // Every fault here is survivable: nothing may be logged as lost or unexpected.
  expect(gateway.logs.filter((line) => line.level >= 50).map((line) => JSON.stringify(line))).toEqual([]);

  // The run really exercised each fault path.
  expect(stats.drops).toBeGreaterThan(0);
  expect(stats.stalls).toBeGreaterThan(0);
  expect(deduped).toBeGreaterThan(0);
  expect(stats.disconnects).toBeGreaterThan(0);
  expect(refusedOpens).toBeGreaterThan(0);
  expect(stats.webhookFaults).toBeGreaterThan(0);
  expect(proactive).toBeGreaterThan(0);
  expect(new Set(kinds)).toEqual(new Set<Kind>(['normal', 'flaky', 'hard', 'midstream']));
}, 90_000);
