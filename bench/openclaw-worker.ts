/**
 * The fake OpenClaw of a benchmark run, in a worker thread of the harness: its HTTP work (one request
 * and one SSE answer per message) then no longer delays the main thread, which timestamps ACKs and
 * webhook posts. Times are taken here as `performance.timeOrigin + performance.now()` (epoch ms with
 * sub-millisecond precision) and handed to the main thread on request.
 *
 * Messages in: `{ type: 'collect' }` → `{ type: 'probes', times, elu }`; `{ type: 'close' }`.
 * Out at start: `{ type: 'ready', baseUrl }`.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { FakeOpenClaw, type RecordedChatRequest } from '../test/fakes/fake-openclaw.js';

/** What the main thread passes as `workerData`. */
export interface OpenClawWorkerOptions {
  readonly serializeSessions: boolean;
  readonly keepAliveTimeoutMs: number;
}

/** `[tag, seq, requestAtEpochMs, responseEndAtEpochMs]` per message seen (NaN when not reached). */
export type OpenClawProbeTimes = [string, number, number, number][];

export type OpenClawWorkerMessage =
  | { readonly type: 'ready'; readonly baseUrl: string }
  | { readonly type: 'probes'; readonly times: OpenClawProbeTimes; readonly elu: number };

const MESSAGE_PATTERN = /\b(warm|bench) (\d+)\b/;

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('openclaw-worker.ts runs as a worker thread');
  const options = workerData as OpenClawWorkerOptions;
  const times = new Map<string, { tag: string; seq: number; requestAt: number; responseEndAt: number }>();
  const sessionTails = new Map<string, Promise<void>>();
  const releases = new WeakMap<RecordedChatRequest, () => void>();
  const entryOf = (request: RecordedChatRequest) => {
    const match = MESSAGE_PATTERN.exec(request.lastUserText);
    if (match === null) return undefined;
    const key = match[0];
    let entry = times.get(key);
    if (entry === undefined) {
      entry = {
        tag: match[1] ?? '',
        seq: Number(match[2]),
        requestAt: Number.NaN,
        responseEndAt: Number.NaN,
      };
      times.set(key, entry);
    }
    return entry;
  };
  const fake = await FakeOpenClaw.start({
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    onResponseEnd: (request) => {
      const entry = entryOf(request);
      if (entry !== undefined) entry.responseEndAt = epochNow();
      releases.get(request)?.();
    },
  });
  fake.setHandler(async (request) => {
    const entry = entryOf(request);
    if (entry !== undefined) entry.requestAt = epochNow();
    const reply = { kind: 'stream' as const, chunks: [`ok ${request.lastUserText.trim()}`] };
    if (!options.serializeSessions) return reply;
    // One run per session at a time, as the real OpenClaw serialises runs per session key.
    const key = request.sessionKey ?? '';
    const previous = sessionTails.get(key);
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (release = resolve));
    sessionTails.set(key, done);
    releases.set(request, () => {
      release();
      if (sessionTails.get(key) === done) sessionTails.delete(key);
    });
    if (previous !== undefined) await previous;
    return reply;
  });
  let eluMark = performance.eventLoopUtilization();
  port.on('message', (message: { type: string }) => {
    if (message.type === 'collect') {
      const collected: OpenClawProbeTimes = [...times.values()].map((e) => [
        e.tag,
        e.seq,
        e.requestAt,
        e.responseEndAt,
      ]);
      times.clear();
      const elu = performance.eventLoopUtilization(eluMark).utilization;
      eluMark = performance.eventLoopUtilization();
      port.postMessage({ type: 'probes', times: collected, elu } satisfies OpenClawWorkerMessage);
    } else if (message.type === 'close') {
      void fake.close().then(() => port.close());
    }
  });
  port.postMessage({ type: 'ready', baseUrl: fake.baseUrl } satisfies OpenClawWorkerMessage);
}

void main();
