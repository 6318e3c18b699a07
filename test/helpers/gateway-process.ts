import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sumOfSamples } from './prometheus-text.js';

/** Repository root (this file is test/helpers/gateway-process.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * How the daemon is started: the Docker image's CMD (checked by test/docker/compose.test.ts) and
 * every end-to-end test run exactly this, relative to the application folder.
 */
export const GATEWAY_START_COMMAND = ['node', 'dist/main.js'] as const;

/**
 * The environment the Docker image starts the daemon with besides its settings (the runtime stage's
 * `ENV`, checked by test/docker/container.test.ts): glibc's malloc keeps its initial 128 KiB mmap and
 * trim thresholds instead of raising them after the first large block is freed, so freed memory goes
 * back to the system (BENCHMARKS.md, fix 34). The end-to-end tests and the benchmark use it too.
 */
export const GATEWAY_START_ENV = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072',
} as const;

/** One JSON log line of the gateway. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GatewayRunOptions {
  /** Written as the JSON5 config file passed with `--config` (omit to run without a file). */
  readonly config?: object;
  /** Environment besides PATH/HOME; the parent's DINGTALK_* and OPENCLAW_* never leak in. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra CLI arguments. */
  readonly args?: readonly string[];
  /** Files written into the working folder before start (e.g. `.env`, secret files). */
  readonly files?: Readonly<Record<string, string>>;
}

function prepareWorkdir(options: GatewayRunOptions): { workdir: string; args: string[] } {
  const workdir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  for (const [name, content] of Object.entries(options.files ?? {}))
    writeFileSync(join(workdir, name), content);
  const args = [resolve(REPO_ROOT, GATEWAY_START_COMMAND[1])];
  if (options.config !== undefined) {
    writeFileSync(join(workdir, 'gateway.json5'), JSON.stringify(options.config, null, 2));
    args.push('--config', join(workdir, 'gateway.json5'));
  }
  args.push(...(options.args ?? []));
  return { workdir, args };
}

function childEnv(options: GatewayRunOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    ...GATEWAY_START_ENV,
    ...options.env,
  };
}

/** Runs the daemon to completion (check-config, config errors). */
export async function runGatewayCommand(
  options: GatewayRunOptions,
): Promise<ExitStatus & { stdout: string; stderr: string }> {
  const { workdir, args } = prepareWorkdir(options);
  const child = spawn(process.execPath, args, { cwd: workdir, env: childEnv(options), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const status = await new Promise<ExitStatus>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  rmSync(workdir, { recursive: true, force: true });
  return { ...status, stdout, stderr };
}

/** A running daemon, its logs, and ways to stop it. */
export class GatewayProcess {
  readonly logs: LogLine[] = [];
  /** Every byte the process wrote to stdout, for secret-leak checks. */
  rawStdout = '';
  stderr = '';
  readonly exited: Promise<ExitStatus>;
  readonly #child: ChildProcess;
  readonly #workdir: string;
  readonly #listeners = new Set<() => void>();
  #baseUrl: string | undefined;

  private constructor(child: ChildProcess, workdir: string) {
    this.#child = child;
    this.#workdir = workdir;
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.rawStdout += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.#addLine(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        rmSync(workdir, { recursive: true, force: true });
        resolveExit({ code, signal });
        this.#notify();
      }),
    );
  }

  /** Spawns the daemon and waits for its `gateway started` line (or its exit). */
  static async start(options: GatewayRunOptions): Promise<GatewayProcess> {
    const { workdir, args } = prepareWorkdir(options);
    const child = spawn(process.execPath, args, { cwd: workdir, env: childEnv(options), stdio: 'pipe' });
    const gateway = new GatewayProcess(child, workdir);
    const started = await Promise.race([
      gateway.waitForLog((line) => line.msg === 'gateway started', 15_000),
      gateway.exited.then((status) => {
        throw new Error(
          `gateway exited during start (${JSON.stringify(status)}): ${gateway.stderr}${gateway.rawStdout}`,
        );
      }),
    ]);
    gateway.#baseUrl = String(started['address']);
    return gateway;
  }

  /** `http://127.0.0.1:<port>` of the health server. */
  get baseUrl(): string {
    if (this.#baseUrl === undefined) throw new Error('gateway has not started');
    return this.#baseUrl;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return this.#waitFor(() => this.logs.find(predicate), timeoutMs, 'log line');
  }

  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.exited;
  }

  /** Kills the process hard (for clean-up in afterEach). */
  async kill(): Promise<ExitStatus> {
    return this.stop('SIGKILL');
  }

  /** Sum of the samples of a Prometheus metric whose labels include `labels`. */
  async metric(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
    const response = await fetch(`${this.baseUrl}/metrics`);
    return sumOfSamples(await response.text(), name, labels);
  }

  #addLine(line: string): void {
    if (line.trim() === '') return;
    try {
      this.logs.push(JSON.parse(line) as LogLine);
    } catch {
      this.logs.push({ level: 0, msg: line });
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const found = probe();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolveWait, rejectWait) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolveWait(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        const tail = this.logs
          .slice(-15)
          .map((line) => JSON.stringify(line))
          .join('\n');
        rejectWait(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last logs:\n${tail}\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }

  /** The temporary working folder (removed on exit). */
  get workdir(): string {
    return this.#workdir;
  }
}
