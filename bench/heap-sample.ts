/**
 * `npx tsx bench/heap-sample.ts [--filter=<run>] [--after-ms=3000] [--for-ms=5000] [--port=9239]`:
 * where the gateway allocates. Starts `bench/run.ts` on one gateway run (by default the throughput
 * run N=20,000 M=1,000) with the gateway's inspector open on 127.0.0.1, and `--after-ms` after the
 * inspector first answers samples allocations for `--for-ms` with V8's sampling heap profiler,
 * keeping the objects the collector freed meanwhile (so the figures are bytes allocated, not
 * retained). Writes the `.heapprofile` (open it in Chrome DevTools) under `.tmp/bench/`, stops the
 * gateway and the benchmark, and prints the bytes allocated per package and per function (traced back to `src/`
 * through the bundle's source map). The sampling itself slows the gateway a little: read shares,
 * not the run's throughput.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import WebSocket from 'ws';

import { type CallFrame, FrameResolver, keyOf, packageOf } from './profile.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUT_DIR = join(REPO_ROOT, '.tmp', 'bench');
const INSPECTOR_WAIT_MS = 60_000;
/** Bytes between two samples: V8's default is 32 KiB; half that for finer attribution. */
const SAMPLING_INTERVAL_BYTES = 16_384;
const TOP_FUNCTIONS = 30;

interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

interface HeapProfile {
  readonly head: HeapNode;
}

/** The inspector's WebSocket address, once the gateway process opened it. */
async function inspectorUrl(port: number): Promise<string> {
  const deadline = Date.now() + INSPECTOR_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
        webSocketDebuggerUrl: string;
      }[];
      const url = targets[0]?.webSocketDebuggerUrl;
      if (url !== undefined) return url;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`no inspector on 127.0.0.1:${port} within ${INSPECTOR_WAIT_MS} ms`);
}

/** A minimal Chrome DevTools Protocol client: one call at a time is all this script needs. */
async function connect(url: string): Promise<{
  call: (method: string, params?: object) => Promise<unknown>;
  close: () => void;
}> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let lastId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter === undefined || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error === undefined) waiter.resolve(message.result);
    else waiter.reject(new Error(message.error.message));
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        lastId += 1;
        pending.set(lastId, { resolve, reject });
        socket.send(JSON.stringify({ id: lastId, method, params }));
      }),
    close: () => socket.close(),
  };
}

function stopBenchmark(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

function table(title: string, bytes: ReadonlyMap<string, number>, total: number, count: number): string {
  const rows = [...bytes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([key, value]) =>
        `| ${key.replaceAll('|', '\\|')} | ${(value / 1_048_576).toFixed(1)} | ${((value / total) * 100).toFixed(1)} % |`,
    );
  return [`**${title}**`, '', '| function / package | MiB | share |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
}

function summarise(profile: HeapProfile, seconds: number): string {
  const frames = new FrameResolver();
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [profile.head];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    stack.push(...node.children);
    if (node.selfSize === 0) continue;
    const frame = frames.resolve(node.callFrame);
    byFunction.set(keyOf(frame), (byFunction.get(keyOf(frame)) ?? 0) + node.selfSize);
    byPackage.set(packageOf(frame), (byPackage.get(packageOf(frame)) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  return [
    `${(total / 1_048_576).toFixed(1)} MiB allocated in ${seconds} s (${(total / 1_048_576 / seconds).toFixed(1)} MiB/s)`,
    '',
    table('bytes allocated per package (allocating frame)', byPackage, total, 15),
    '',
    table('bytes allocated per function (allocating frame)', byFunction, total, TOP_FUNCTIONS),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      filter: { type: 'string', default: 'N=20,000 M=1,000' },
      'after-ms': { type: 'string', default: '3000' },
      'for-ms': { type: 'string', default: '5000' },
      port: { type: 'string', default: '9239' },
    },
  });
  const port = Number(values.port);
  const afterMs = Number(values['after-ms']);
  const forMs = Number(values['for-ms']);
  const child = spawn(
    'npx',
    [
      'tsx',
      'bench/run.ts',
      `--filter=${values.filter}`,
      '--only=gateway',
      '--no-tmpfs',
      `--gateway-node-arg=--inspect=127.0.0.1:${port}`,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  try {
    const inspector = await connect(await inspectorUrl(port));
    await sleep(afterMs);
    await inspector.call('HeapProfiler.enable');
    await inspector.call('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await sleep(forMs);
    const { profile } = (await inspector.call('HeapProfiler.stopSampling')) as { profile: HeapProfile };
    // The gateway is the harness's child: ask it to shut down itself, as the harness would have.
    await inspector.call('Runtime.evaluate', { expression: "process.kill(process.pid, 'SIGTERM')" });
    inspector.close();
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const path = join(OUTPUT_DIR, `heap-${new Date().toISOString().replace(/[:.]/g, '-')}.heapprofile`);
    writeFileSync(path, JSON.stringify(profile));
    console.log(`### Allocations of the gateway (${values.filter}, ${forMs} ms from ${afterMs} ms)\n`);
    console.log(`profile: \`${path}\`\n`);
    console.log(summarise(profile, forMs / 1000));
  } finally {
    stopBenchmark(child);
  }
}

await main();
