/** Facts about the machine the figures were taken on, and the fsync cost of the state folder's disk. */
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Percentiles, percentiles } from './stats.js';
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

export function machineFacts(stateParentDir: string = tmpdir()): MachineFacts {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverage1m: loadAverage1m(),
    fsyncMs: probeFsync(stateParentDir),
    fsyncDir: stateParentDir,
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
