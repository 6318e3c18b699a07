/**
 * Resource use of another process read from Linux /proc: resident memory (VmRSS, peak VmHWM) from
 * `/proc/<pid>/status` and CPU time (utime + stime) from `/proc/<pid>/stat`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** Memory of a process in bytes. */
export interface MemorySample {
  readonly rssBytes: number;
  /** Peak resident set since the process started (VmHWM). */
  readonly peakRssBytes: number;
}

/** VmRSS and VmHWM of `pid`; `undefined` once the process is gone. */
export function readMemory(pid: number): MemorySample | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** User + system CPU time of `pid` in milliseconds (10 ms resolution); `undefined` once it is gone. */
export function readCpuMs(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Polls VmRSS of one process at a fixed interval and keeps the largest value seen. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #maxRssBytes = 0;
  #lastRssBytes = 0;
  #samples = 0;

  constructor(pid: number, intervalMs: number) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling; returns the largest and the last VmRSS seen, and VmHWM now. */
  stop(): { maxRssBytes: number; lastRssBytes: number; peakRssBytes: number; samples: number } {
    clearInterval(this.#timer);
    this.#sample();
    const memory = readMemory(this.#pid);
    return {
      maxRssBytes: this.#maxRssBytes,
      lastRssBytes: this.#lastRssBytes,
      peakRssBytes: memory?.peakRssBytes ?? this.#maxRssBytes,
      samples: this.#samples,
    };
  }

  #sample(): void {
    const memory = readMemory(this.#pid);
    if (memory === undefined) return;
    this.#samples += 1;
    this.#lastRssBytes = memory.rssBytes;
    this.#maxRssBytes = Math.max(this.#maxRssBytes, memory.rssBytes);
  }
}

/** The 1-minute load average of the machine, or `undefined` off Linux. */
export function loadAverage1m(): number | undefined {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** `some` stall time in µs since boot from /proc/pressure/<kind> (PSI); `undefined` without PSI. */
export function readPressureTotalUs(kind: 'cpu' | 'io'): number | undefined {
  try {
    const match = /^some .*total=(\d+)/m.exec(readFileSync(`/proc/pressure/${kind}`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * Share of wall time (0..1) in which some task of the machine waited for `kind` since `startUs` was read
 * `elapsedMs` ago: how much the machine's other tenants (and the run itself) contended.
 */
export function pressureSince(
  kind: 'cpu' | 'io',
  startUs: number | undefined,
  elapsedMs: number,
): number | undefined {
  const endUs = readPressureTotalUs(kind);
  if (startUs === undefined || endUs === undefined || elapsedMs <= 0) return undefined;
  return (endUs - startUs) / 1000 / elapsedMs;
}
