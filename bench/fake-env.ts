/**
 * The fakes of one benchmark run (test/fakes: FakeDingTalk and FakeOpenClaw, real servers on
 * 127.0.0.1) plus timing probes. Every probe time is `performance.now()` in this process, taken in
 * the fakes' own hooks, so no instrumentation of the system under test is needed:
 *
 * - push: the CALLBACK frame was handed to the socket (`pushBotMessage` returned);
 * - ack: the ACK frame arrived on the fake's server socket;
 * - request: the fake OpenClaw decided its reply (body read and validated);
 * - responseEnd: the fake OpenClaw's SSE response was fully handed to the socket;
 *
 * The fake OpenClaw runs in a worker thread (bench/openclaw-worker.ts) so that its HTTP work does not
 * delay the main thread's ACK and webhook timestamps; its times are converted to this thread's clock.
 * - webhook: the fake DingTalk read a session-webhook post (before answering it).
 *
 * Message text is `<tag> <seq>`; the fake OpenClaw answers `ok <tag> <seq>`, so replies are matched
 * back to their message by text. Fake OpenClaw answers instantly; by default it runs one request per
 * session at a time, as the real OpenClaw does (its runs are serialised per session key).
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

import type { RawData } from 'ws';

import { FakeDingTalk, type FakeConnection } from '../test/fakes/fake-dingtalk.js';
import type { OpenClawWorkerMessage, OpenClawWorkerOptions } from './openclaw-worker.js';

/** Per-message timestamps (ms, `performance.now()`), NaN until seen. Indexed by seq. */
export class Probes {
  readonly push: Float64Array;
  readonly ack: Float64Array;
  readonly request: Float64Array;
  readonly responseEnd: Float64Array;
  readonly webhook: Float64Array;
  /** Webhook posts that carried the reply of each message (more than 1 = duplicate answer). */
  readonly answers: Uint16Array;
  acked = 0;
  answered = 0;
  duplicates = 0;
  lastAckAt = Number.NaN;
  lastAnswerAt = Number.NaN;

  constructor(count: number) {
    this.push = new Float64Array(count).fill(Number.NaN);
    this.ack = new Float64Array(count).fill(Number.NaN);
    this.request = new Float64Array(count).fill(Number.NaN);
    this.responseEnd = new Float64Array(count).fill(Number.NaN);
    this.webhook = new Float64Array(count).fill(Number.NaN);
    this.answers = new Uint16Array(count);
  }
}

/** What a message is: a tag naming its phase (`warm`, `bench`) and its index in that phase. */
export interface MessageRef {
  readonly tag: string;
  readonly seq: number;
}

const MESSAGE_PATTERN = /\b(warm|bench) (\d+)\b/g;
const ACK_PATTERN = /"messageId":"(warm|bench)-(\d+)"/;

export interface FakeEnvOptions {
  /** One OpenClaw run per session key at a time, like the real OpenClaw. @defaultValue true */
  readonly serializeSessions?: boolean;
  /** Idle keep-alive timeout of both fakes' HTTP servers. @defaultValue {@link LONG_KEEP_ALIVE_MS} */
  readonly keepAliveTimeoutMs?: number;
}

/**
 * Idle keep-alive of both fakes' HTTP servers in the bench: long, as behind a typical reverse proxy. With
 * Node's own 5 s (the fake OpenClaw's 1 s is shorter still), a busy client reuses sockets the server is
 * closing (UND_ERR_SOCKET, ECONNRESET) and pays a retry or loses the reply; plan.ts runs that case as a
 * separate variant.
 */
export const LONG_KEEP_ALIVE_MS = 65_000;

/**
 * Starts a worker thread on a TypeScript file: loader hooks are per thread, so the worker registers tsx
 * itself before importing `entry`.
 */
function startTypeScriptWorker(entry: URL, workerData: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** Both fakes with probes attached. Close with {@link FakeEnv.close}. */
export class FakeEnv {
  readonly dingtalk: FakeDingTalk;
  /** The fake OpenClaw (in its worker thread). */
  readonly openclaw: { readonly baseUrl: string };
  readonly #worker: Worker;
  readonly #probes = new Map<string, Probes>();
  #onAnswer: () => void = () => undefined;

  private constructor(dingtalk: FakeDingTalk, worker: Worker, openclawBaseUrl: string) {
    this.dingtalk = dingtalk;
    this.#worker = worker;
    this.openclaw = { baseUrl: openclawBaseUrl };
    dingtalk.scriptWebhook((post) => {
      this.#onWebhook(post.rawBody);
      return undefined;
    });
  }

  static async start(options: FakeEnvOptions = {}): Promise<FakeEnv> {
    // redeliverAfterMs stays unset: no redelivery, every push is delivered once.
    const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? LONG_KEEP_ALIVE_MS;
    const dingtalk = await FakeDingTalk.start({ keepAliveTimeoutMs });
    const workerOptions: OpenClawWorkerOptions = {
      serializeSessions: options.serializeSessions ?? true,
      keepAliveTimeoutMs,
    };
    const worker = startTypeScriptWorker(new URL('./openclaw-worker.ts', import.meta.url), workerOptions);
    try {
      const [ready] = (await once(worker, 'message')) as [OpenClawWorkerMessage];
      if (ready.type !== 'ready') throw new Error('fake OpenClaw worker did not start');
      return new FakeEnv(dingtalk, worker, ready.baseUrl);
    } catch (error) {
      await Promise.all([dingtalk.close(), worker.terminate()]);
      throw error;
    }
  }

  /** Starts recording probes for messages tagged `tag` (seq < count). */
  track(tag: string, count: number): Probes {
    const probes = new Probes(count);
    this.#probes.set(tag, probes);
    return probes;
  }

  /** Called after every webhook post that answered at least one tracked message. */
  onAnswer(listener: () => void): void {
    this.#onAnswer = listener;
  }

  /**
   * Copies the fake OpenClaw's request and response-end times into the tracked probes (times of earlier
   * calls are not sent again) and returns the worker's event-loop utilisation since the last call.
   */
  async collectOpenClawTimes(): Promise<number> {
    const reply = once(this.#worker, 'message') as Promise<[OpenClawWorkerMessage]>;
    this.#worker.postMessage({ type: 'collect' });
    const [message] = await reply;
    if (message.type !== 'probes') throw new Error('unexpected message from the fake OpenClaw worker');
    // Worker times are epoch ms; this thread's probes are performance.now() of this thread.
    const offset = performance.timeOrigin;
    for (const [tag, seq, requestAt, responseEndAt] of message.times) {
      const probes = this.#probes.get(tag);
      if (probes === undefined || seq >= probes.push.length) continue;
      probes.request[seq] = requestAt - offset;
      probes.responseEnd[seq] = responseEndAt - offset;
    }
    return message.elu;
  }

  /** Timestamps ACKs arriving on `connection` (the fake keeps its own record too). */
  watchAcks(connection: FakeConnection): void {
    connection.socket.on('message', (data: RawData) => {
      const bytes = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      const match = ACK_PATTERN.exec(bytes.toString('latin1'));
      if (match === null) return;
      const probes = this.#probes.get(match[1] ?? '');
      const seq = Number(match[2]);
      if (probes === undefined || !Number.isNaN(probes.ack[seq] ?? 0)) return;
      const now = performance.now();
      probes.ack[seq] = now;
      probes.acked += 1;
      probes.lastAckAt = now;
    });
  }

  async close(): Promise<void> {
    this.#worker.postMessage({ type: 'close' });
    await Promise.all([this.dingtalk.close(), once(this.#worker, 'exit')]);
  }

  #lookup(key: string): { probes: Probes; seq: number } | undefined {
    const [tag, seqText] = key.split(' ');
    const probes = this.#probes.get(tag ?? '');
    const seq = Number(seqText);
    return probes !== undefined && seq < probes.push.length ? { probes, seq } : undefined;
  }

  #onWebhook(rawBody: string): void {
    const now = performance.now();
    const seen = new Set<string>();
    let isAnswer = false;
    for (const match of rawBody.matchAll(MESSAGE_PATTERN)) {
      const key = `${match[1] ?? ''} ${match[2] ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const found = this.#lookup(key);
      if (found === undefined) continue;
      const { probes, seq } = found;
      const previous = probes.answers[seq] ?? 0;
      probes.answers[seq] = previous + 1;
      if (previous === 0) {
        probes.webhook[seq] = now;
        probes.answered += 1;
        probes.lastAnswerAt = now;
        isAnswer = true;
      } else {
        probes.duplicates += 1;
      }
    }
    if (isAnswer) this.#onAnswer();
  }
}
