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

import { connectInspector, inspectorUrlOnPort } from '../test/helpers/inspector-client.js';
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

/** Ends the whole process group: npx, the harness and the gateway it started (which shuts down as on SIGTERM). */
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
      '--variant=disk',
      `--gateway-node-arg=--inspect=127.0.0.1:${port}`,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  try {
    const inspector = await connectInspector(await inspectorUrlOnPort(port, INSPECTOR_WAIT_MS));
    await sleep(afterMs);
    await inspector.call('HeapProfiler.enable');
    await inspector.call('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await sleep(forMs);
    const { profile } = (await inspector.call('HeapProfiler.stopSampling')) as { profile: HeapProfile };
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
