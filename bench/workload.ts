/**
 * Drives one workload through the fake DingTalk: builds the bot messages up front (so building them
 * costs nothing during the timed phase), pushes them on one Stream connection by the chosen arrival
 * process, and waits until every message was answered or progress stalled.
 */
import type { BotMessageData } from '../test/fakes/bot-message-factory.js';
import type { FakeConnection } from '../test/fakes/fake-dingtalk.js';
import type { FakeEnv, Probes } from './fake-env.js';

/** How messages arrive. */
export type Arrival =
  /** `ratePerSecond` messages per second, evenly spaced (1 ms timer resolution). */
  | { readonly kind: 'paced'; readonly ratePerSecond: number }
  /** All at once, in one synchronous loop. */
  | { readonly kind: 'burst' }
  /** As fast as possible with at most `maxOutstanding` pushed but not yet answered (closed loop). */
  | { readonly kind: 'window'; readonly maxOutstanding: number };

export interface WorkloadSpec {
  readonly messages: number;
  /** Distinct DM conversations (senders); message `i` belongs to conversation `i % conversations`. */
  readonly conversations: number;
  readonly arrival: Arrival;
}

export interface DriveResult {
  readonly probes: Probes;
  readonly isComplete: boolean;
  /** First push → last push (ms). */
  readonly pushSpanMs: number;
  readonly firstPushAt: number;
  readonly finishedAt: number;
}

/** Builds `count` DM text messages `<tag> <seq>` spread over `conversations` senders. */
export function buildMessages(
  env: FakeEnv,
  tag: string,
  count: number,
  conversations: number,
): BotMessageData[] {
  const messages: BotMessageData[] = [];
  for (let seq = 0; seq < count; seq += 1) {
    const conversation = seq % conversations;
    messages.push(
      env.dingtalk.dmText(`${tag} ${seq}`, { senderStaffId: `bench${conversation}`, senderNick: 'bench' }),
    );
  }
  return messages;
}

/**
 * Pushes `messages` (tagged `tag`) by `arrival` and resolves once all are answered, or when nothing
 * was answered for `stallTimeoutMs` (then `isComplete` is false).
 */
export async function drive(
  env: FakeEnv,
  connection: FakeConnection,
  tag: string,
  messages: readonly BotMessageData[],
  arrival: Arrival,
  stallTimeoutMs: number,
): Promise<DriveResult> {
  const probes = env.track(tag, messages.length);
  let pushed = 0;
  const push = (): void => {
    const seq = pushed;
    const data = messages[seq];
    if (data === undefined) return;
    env.dingtalk.pushBotMessage(data, { connection, messageId: `${tag}-${seq}` });
    probes.push[seq] = performance.now();
    pushed += 1;
  };
  const total = messages.length;
  const done = new Promise<boolean>((resolve) => {
    let lastProgressAt = performance.now();
    let lastAnswered = 0;
    const watchdog = setInterval(() => {
      if (probes.answered !== lastAnswered) {
        lastAnswered = probes.answered;
        lastProgressAt = performance.now();
      } else if (performance.now() - lastProgressAt > stallTimeoutMs) {
        clearInterval(watchdog);
        resolve(false);
      }
    }, 250);
    let isPumpScheduled = false;
    const pump = (): void => {
      isPumpScheduled = false;
      if (arrival.kind === 'window')
        while (pushed < total && pushed - probes.answered < arrival.maxOutstanding) push();
    };
    env.onAnswer(() => {
      if (probes.answered >= total) {
        clearInterval(watchdog);
        resolve(true);
        return;
      }
      if (arrival.kind === 'window' && !isPumpScheduled) {
        isPumpScheduled = true;
        setImmediate(pump);
      }
    });
    if (total === 0) resolve(true);
    if (arrival.kind === 'burst') while (pushed < total) push();
    else if (arrival.kind === 'window') pump();
    else pace(arrival.ratePerSecond, total, () => pushed, push);
  });
  const isComplete = await done;
  env.onAnswer(() => undefined);
  const firstPushAt = probes.push[0] ?? Number.NaN;
  return {
    probes,
    isComplete,
    pushSpanMs: (probes.push[Math.max(0, pushed - 1)] ?? Number.NaN) - firstPushAt,
    firstPushAt,
    finishedAt: performance.now(),
  };
}

/** Pushes so that `ratePerSecond × elapsed` messages were sent at any time (catching up after a stall). */
function pace(ratePerSecond: number, total: number, pushedSoFar: () => number, push: () => void): void {
  const startedAt = performance.now();
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * ratePerSecond) / 1000) + 1);
    while (pushedSoFar() < due) push();
    if (pushedSoFar() < total) setTimeout(tick, 1);
  };
  tick();
}
