/**
 * Facts about the machine the figures were taken on, the fsync cost of the state folder's disk, and
 * the harness's own timer lateness.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem, tmpdir } from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Percentiles, median, percentiles } from './stats.js';
import { loadAverage1m } from './proc-stats.js';

export interface MachineFacts {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly memoryGiB: number;
  readonly loadAverage1m: number | undefined;
  /** Latency of `fsync` after a 4 KiB append in the folder the gateway's state lives in. */
  readonly fsyncMs: Percentiles;
  readonly fsyncDir: string;
  /** Median time of {@link calibrateCpu}'s fixed workload: compares the speed of the box across runs. */
  readonly cpuCalibrationMs: number;
}

const FSYNC_PROBES = 200;

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) return match[1].trim();
  } catch {
    // Not Linux.
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** Times `FSYNC_PROBES` append + fsync rounds on a scratch file in `parentDir`. */
export function probeFsync(parentDir: string = tmpdir()): Percentiles {
  const dir = mkdtempSync(join(parentDir, 'fsync-probe-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const block = Buffer.alloc(4096, 1);
  const timings: number[] = [];
  try {
    for (let i = 0; i < FSYNC_PROBES; i += 1) {
      writeSync(fd, block);
      const startedAt = performance.now();
      fsyncSync(fd);
      timings.push(performance.now() - startedAt);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return percentiles(timings);
}

export const CALIBRATION_ROUNDS = 7;
const CALIBRATION_MESSAGES = 10_000;

/**
 * Times a fixed single-threaded workload shaped like the gateway's per-message work (JSON in and
 * out, a hash, string building), `CALIBRATION_ROUNDS` times after one warm-up round (JIT), and
 * returns the median in ms. The same
 * code on the same box should give the same figure; a host that got slower (a busy neighbour of a
 * VM) shows here, so figures of runs with different calibrations are compared by their ratios only.
 */
export function calibrateCpu(): number {
  const timings: number[] = [];
  let checksum = 0;
  for (let round = 0; round <= CALIBRATION_ROUNDS; round += 1) {
    const startedAt = performance.now();
    for (let i = 0; i < CALIBRATION_MESSAGES; i += 1) {
      const frame = JSON.stringify({
        headers: { messageId: `m-${i}`, topic: '/v1.0/im/bot/messages/get', time: String(1_700_000_000 + i) },
        data: JSON.stringify({ conversationId: `cid-${i % 100}`, text: { content: `hello ${i} 你好` } }),
      });
      const parsed = JSON.parse(frame) as { data: string };
      const inner = JSON.parse(parsed.data) as { text: { content: string } };
      const digest = createHash('sha256').update(inner.text.content).digest('hex');
      checksum += `ok bench ${digest.slice(0, 8)} ${inner.text.content}`.length;
    }
    if (round > 0) timings.push(performance.now() - startedAt);
  }
  if (checksum === 0) throw new Error('calibration workload did nothing');
  return median(timings) ?? Number.NaN;
}

export function machineFacts(stateParentDir: string = tmpdir()): MachineFacts {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverage1m: loadAverage1m(),
    fsyncMs: probeFsync(stateParentDir),
    fsyncDir: stateParentDir,
    cpuCalibrationMs: calibrateCpu(),
  };
}

/**
 * Measures fsync latency in a folder while a run goes on (append 4 KiB, `fsync` on the libuv thread pool,
 * so the harness's event loop is not blocked), every `intervalMs`. The gateway fsyncs on its ACK and
 * turn paths, so its figures move with this; other tenants of the disk move it too.
 */
export class FsyncMonitor {
  readonly #timings: number[] = [];
  readonly #done: Promise<void>;
  #isRunning = true;

  constructor(parentDir: string, intervalMs: number) {
    this.#done = this.#loop(parentDir, intervalMs);
  }

  async stop(): Promise<Percentiles> {
    this.#isRunning = false;
    await this.#done;
    return percentiles(this.#timings);
  }

  async #loop(parentDir: string, intervalMs: number): Promise<void> {
    const dir = mkdtempSync(join(parentDir, 'fsync-monitor-'));
    const handle = await open(join(dir, 'probe'), 'w');
    const block = Buffer.alloc(4096, 1);
    try {
      while (this.#isRunning) {
        await handle.write(block);
        const startedAt = performance.now();
        await handle.sync();
        this.#timings.push(performance.now() - startedAt);
        await sleep(intervalMs);
      }
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Sampling period of {@link LoopDelayMonitor}. */
const LOOP_DELAY_RESOLUTION_MS = 2;

/**
 * How late this thread's timers fire while it runs (`monitorEventLoopDelay`): the delay any
 * timestamp this thread takes can carry, whatever the process it measures does. The histogram
 * holds the time between two firings of its timer, so the period itself is taken off each figure
 * (an idle loop measures about 0.1 ms late, not 2.1 ms).
 */
export class LoopDelayMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

  constructor() {
    this.#histogram.enable();
  }

  /** Stops sampling; the lateness in ms (undefined figures when nothing was sampled). */
  stop(): Percentiles {
    const histogram = this.#histogram;
    histogram.disable();
    const toMs = (ns: number): number | undefined =>
      histogram.count > 0 ? Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) : undefined;
    return {
      count: histogram.count,
      p50: toMs(histogram.percentile(50)),
      p99: toMs(histogram.percentile(99)),
      max: toMs(histogram.max),
    };
  }
}
