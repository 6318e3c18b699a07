/**
 * The two systems under test, each a child process: the real gateway (`node dist/main.js`, as the
 * Docker image and the end-to-end tests start it) and the baseline relay on the official
 * `dingtalk-stream` SDK (bench/sdk-relay.ts, transpiled once to plain JavaScript so that neither side
 * pays for a TypeScript loader).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import ts from 'typescript';

import type { FakeDingTalk } from '../test/fakes/fake-dingtalk.js';
import { FAKE_OPENCLAW_TOKEN } from '../test/fakes/fake-openclaw.js';
import { GATEWAY_START_COMMAND, GATEWAY_START_ENV, REPO_ROOT } from '../test/helpers/gateway-process.js';

/** Which system runs the workload. */
export type TargetKind = 'gateway' | 'sdk';

export interface TargetOptions {
  readonly dingtalk: FakeDingTalk;
  readonly openclaw: { readonly baseUrl: string };
  /** Extra `node` arguments (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /** The `node` binary to run. @defaultValue the harness's own (process.execPath) */
  readonly nodePath?: string | undefined;
  /** Parent folder of the gateway's working folder and SQLite state. @defaultValue os.tmpdir() */
  readonly stateParentDir?: string | undefined;
  /** The gateway entry point to run. @defaultValue dist/main.js of this repository */
  readonly gatewayMain?: string | undefined;
}

/** The gateway build `npm run bench` measures unless told otherwise. */
export const DEFAULT_GATEWAY_MAIN = resolve(REPO_ROOT, GATEWAY_START_COMMAND[1]);

/** A started system under test. */
export interface TargetProcess {
  readonly kind: TargetKind;
  readonly pid: number;
  /** spawn → ready: `/readyz` 200 for the gateway, Stream socket accepted by the fake for the SDK relay. */
  readonly readyMs: number;
  /** spawn → Stream socket accepted by the fake DingTalk (the same event for both). */
  readonly connectedMs: number;
  /** What the process wrote (the gateway logs at `warn`; the SDK prints what it prints). */
  readonly output: ProcessOutput;
  /** The gateway's `/metrics`; undefined for the SDK relay. */
  readonly metricsUrl: string | undefined;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Folder for build products of the harness; ignored by eslint and prettier. */
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'openclaw-dingtalk-bench');
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_INTERVAL_MS = 2;

/**
 * Gateway config for the bench: log level `warn`, and per-conversation limits raised so that the
 * workload measures the gateway rather than its protective limits (default 20 replies per minute and
 * 10 queued messages per conversation; the throughput runs queue up to a few hundred per conversation).
 */
export function benchGatewayConfig(
  dingtalk: FakeDingTalk,
  openclaw: { readonly baseUrl: string },
  port: number,
  stateDir: string,
): object {
  return {
    server: { host: '127.0.0.1', port, shutdownGraceMs: 5_000 },
    openclaw: {
      baseUrl: openclaw.baseUrl,
      token: FAKE_OPENCLAW_TOKEN,
      timeoutMs: 60_000,
      connectTimeoutMs: 5_000,
    },
    state: { dir: stateDir },
    log: { level: 'warn' },
    delivery: { rateLimitMessages: 1_000, rateLimitWindowMs: 1_000, maxQueuePerConversation: 1_000 },
    channels: {
      dingtalk: {
        clientId: dingtalk.options.clientId,
        clientSecret: dingtalk.options.clientSecret,
        apiBase: dingtalk.baseUrl,
        oapiBase: dingtalk.baseUrl,
        // The workloads send hundreds of messages per sender; the flood limit would drop them.
        senderRateLimit: { messages: 0 },
      },
    },
  };
}

/** Starts the gateway against the fakes and waits until `/readyz` answers 200. */
export async function startGateway(options: TargetOptions): Promise<TargetProcess> {
  const parent = options.stateParentDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const workdir = mkdtempSync(join(parent, 'gateway-bench-'));
  const port = await freePort();
  const configPath = join(workdir, 'gateway.json5');
  const config = benchGatewayConfig(options.dingtalk, options.openclaw, port, join(workdir, 'state'));
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const mainPath = options.gatewayMain ?? DEFAULT_GATEWAY_MAIN;
  const args = [...(options.nodeArgs ?? []), mainPath, '--config', configPath];
  const connectionsBefore = options.dingtalk.connections.length;
  const startedAt = performance.now();
  // The environment of the Docker image (glibc's malloc thresholds); the SDK relay runs as users run
  // it, with none.
  const child = spawn(options.nodePath ?? process.execPath, args, {
    cwd: workdir,
    env: { ...childEnv(), ...GATEWAY_START_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  try {
    const [readyAt, connectedAt] = await Promise.all([
      pollReady(`http://127.0.0.1:${port}/readyz`, child, output),
      waitForConnection(options.dingtalk, connectionsBefore, child, output),
    ]);
    return target(
      'gateway',
      child,
      output,
      readyAt - startedAt,
      connectedAt - startedAt,
      `http://127.0.0.1:${port}/metrics`,
      () => rmSync(workdir, { recursive: true, force: true }),
    );
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(workdir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts the SDK baseline relay and waits until its Stream socket was accepted. */
export async function startSdkRelay(options: TargetOptions): Promise<TargetProcess> {
  const script = transpileRelay();
  const env = {
    ...childEnv(),
    BENCH_DINGTALK_BASE: options.dingtalk.baseUrl,
    BENCH_CLIENT_ID: options.dingtalk.options.clientId,
    BENCH_CLIENT_SECRET: options.dingtalk.options.clientSecret,
    BENCH_OPENCLAW_BASE: options.openclaw.baseUrl,
    BENCH_OPENCLAW_TOKEN: FAKE_OPENCLAW_TOKEN,
  };
  const connectionsBefore = options.dingtalk.connections.length;
  const startedAt = performance.now();
  const child = spawn(options.nodePath ?? process.execPath, [...(options.nodeArgs ?? []), script], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  try {
    const connectedAt = await waitForConnection(options.dingtalk, connectionsBefore, child, output);
    const connectedMs = connectedAt - startedAt;
    return target('sdk', child, output, connectedMs, connectedMs, undefined, () => undefined);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Compiles bench/sdk-relay.ts to `.mjs` (type erasure only) under node_modules/.cache; returns its path. */
function transpileRelay(): string {
  const source = readFileSync(join(REPO_ROOT, 'bench', 'sdk-relay.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, 'sdk-relay.mjs');
  writeFileSync(path, outputText);
  return path;
}

function target(
  kind: TargetKind,
  child: ChildProcess,
  output: ProcessOutput,
  readyMs: number,
  connectedMs: number,
  metricsUrl: string | undefined,
  cleanup: () => void,
): TargetProcess {
  const exited = new Promise<number | null>((resolveExit) => {
    if (child.exitCode !== null) resolveExit(child.exitCode);
    else child.once('exit', (code) => resolveExit(code));
  });
  return {
    kind,
    pid: child.pid ?? -1,
    readyMs,
    connectedMs,
    output,
    metricsUrl,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      cleanup();
      return code;
    },
  };
}

function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' };
}

/** The last lines a process wrote, and how often each JSON log message (or plain line) appeared. */
export class ProcessOutput {
  readonly lines: string[] = [];
  /** `level msg` of JSON log lines (plain lines: their first 80 characters) → count. */
  readonly counts = new Map<string, number>();
  #pending = '';

  add(chunk: Buffer): void {
    const parts = (this.#pending + chunk.toString('utf8')).split('\n');
    this.#pending = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      const key = summaryKey(line);
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
    if (this.lines.length > 200) this.lines.splice(0, this.lines.length - 200);
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function summaryKey(line: string): string {
  try {
    const parsed = JSON.parse(line) as {
      level?: number;
      msg?: string;
      error?: unknown;
      err?: { message?: unknown };
    };
    const cause = parsed.err?.message ?? parsed.error;
    const why = typeof cause === 'string' ? ` (${cause.slice(0, 100)})` : '';
    return `${LEVEL_NAMES[parsed.level ?? 0] ?? String(parsed.level)}: ${parsed.msg ?? '?'}${why}`;
  } catch {
    return line.slice(0, 100);
  }
}

function collectOutput(child: ChildProcess): ProcessOutput {
  const output = new ProcessOutput();
  child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));
  return output;
}

function exitedEarly(child: ChildProcess, output: ProcessOutput): Error | undefined {
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return new Error(`process exited during start (${child.exitCode ?? child.signalCode}):\n${output.text}`);
}

async function pollReady(url: string, child: ChildProcess, output: ProcessOutput): Promise<number> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const early = exitedEarly(child, output);
    if (early !== undefined) throw early;
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return performance.now();
    } catch {
      // Not listening yet.
    }
    await sleep(READY_POLL_INTERVAL_MS);
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS} ms:\n${output.text}`);
}

async function waitForConnection(
  dingtalk: FakeDingTalk,
  before: number,
  child: ChildProcess,
  output: ProcessOutput,
): Promise<number> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const early = exitedEarly(child, output);
    if (early !== undefined) throw early;
    const accepted = dingtalk.connections[before];
    // acceptedAtMs is wall-clock ms; timeOrigin + performance.now() is the same clock.
    if (accepted !== undefined) return accepted.acceptedAtMs - performance.timeOrigin;
    await sleep(1);
  }
  throw new Error(`no Stream connection within ${READY_TIMEOUT_MS} ms:\n${output.text}`);
}

/** A free TCP port on 127.0.0.1 (closed again before the gateway binds it). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
