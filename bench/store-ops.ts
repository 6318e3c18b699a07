/**
 * `npx tsx bench/store-ops.ts [messages] [conversations] [in flight]`: the SQLite store's work for
 * whole messages, without the gateway around it. Each message goes through what intake and a turn
 * ask of the store (read the session generation, count the queue, accept, read the queue head,
 * check the answered flag, start, read the route, plan the reply, mark it sent, mark the session
 * answered, finish, count the queue), with message ids as random as DingTalk's and `in flight`
 * conversations at once as the dispatcher runs them; prints
 * messages per second and the process's CPU per message (the WAL fsyncs on the thread pool included).
 * State in a fresh folder under the OS temp dir, removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteStateStore } from '../src/state/sqlite-store.js';
import { newMsgId } from '../test/fakes/bot-message-factory.js';
import { inboundMessage } from '../test/helpers/inbound-message.js';

const ACCOUNT = 'bench';
const HOUR_MS = 3_600_000;

async function answerOne(store: SqliteStateStore, index: number, conversations: number): Promise<void> {
  const conversationId = `cid-${index % conversations}`;
  const queueKey = `${ACCOUNT}:${conversationId}`;
  const msgId = newMsgId();
  const message = inboundMessage({ accountId: ACCOUNT, msgId, conversationId });
  const sessionKey = `dingtalk:${conversationId}`;
  const nowMs = Date.now();
  await store.sessionGeneration(sessionKey);
  await store.queueLength(queueKey);
  const accepted = await store.accept(
    {
      dedupeKey: `robot:${msgId}`,
      accountId: ACCOUNT,
      queueKey,
      job: { message, text: message.text, sessionKey },
      acceptedAtMs: nowMs,
    },
    {
      conversationKey: queueKey,
      accountId: ACCOUNT,
      chatType: 'dm',
      webhookUrl: `https://oapi.dingtalk.com/robot/sendBySession?session=s${index}`,
      webhookExpiresAtMs: nowMs + HOUR_MS,
      staffId: 'staff-1',
      openConversationId: undefined,
    },
  );
  if (accepted.status !== 'accepted') throw new Error(`message ${index} was not accepted`);
  const record = await store.nextEntry(queueKey);
  if (record === undefined) throw new Error(`message ${index} is not at the head of its queue`);
  await store.hasAnswered(sessionKey);
  await store.markStarted(record.id);
  await store.route(queueKey);
  await store.planReply(record.id, [{ kind: 'markdown', title: 'Reply', text: `ok bench ${index}` }], true);
  await store.markChunkSent(record.id, 0, Date.now());
  await store.markAnswered(sessionKey, Date.now());
  await store.finish(record.id, Date.now());
  await store.queueLength(queueKey);
}

async function main(): Promise<void> {
  const [messages = 20_000, conversations = 1_000, inFlight = 64] = process.argv.slice(2).map(Number);
  if (inFlight > conversations) throw new Error('in flight must not exceed conversations (one turn each)');
  const dir = mkdtempSync(join(tmpdir(), 'store-ops-'));
  const store = new SqliteStateStore({ dir, dedupeTtlMs: HOUR_MS });
  try {
    let next = 0;
    const startedMs = performance.now();
    const cpuBefore = process.cpuUsage();
    // Consecutive indexes fall in distinct conversations, so no two workers share one at a time.
    const worker = async (): Promise<void> => {
      for (let index = next++; index < messages; index = next++) await answerOne(store, index, conversations);
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = performance.now() - startedMs;
    const cpuUsPerMessage = (cpu.user + cpu.system) / messages;
    process.stdout.write(
      `${messages} messages, ${conversations} conversations, ${inFlight} in flight: ` +
        `${Math.round((messages / elapsedMs) * 1000)} messages/s, ` +
        `CPU ${cpuUsPerMessage.toFixed(1)} µs per message\n`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
