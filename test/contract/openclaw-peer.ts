/**
 * The real OpenClaw gateway as a test peer (shared/reference/openclaw-api.md §4): the pinned release
 * installed by scripts/openclaw-peer.sh, run on loopback with an isolated home, state, config and
 * TMPDIR under a temporary run folder, its model provider pointed at a {@link FakeModel}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { FAKE_MODEL_ID, FAKE_REASONING_MODEL_ID } from './fake-model.js';
import { NODE24_VERSION, OPENCLAW_VERSION } from './openclaw-version.js';

/** OpenClaw's first `/health` answer came 17–27 s after launch on a 2-vCPU VM. */
const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;
/** SIGTERM shutdown took 0.7 s, the process exited about 4.5 s after the signal. */
const STOP_TIMEOUT_MS = 20_000;
/** Hard-coded by OpenClaw on POSIX whatever TMPDIR says (§4.6). */
const SHARED_TMP_DIRS = ['/tmp/openclaw', `/tmp/openclaw-state-locks-${process.getuid?.() ?? 0}`];

/** Where scripts/openclaw-peer.sh put Node 24 and OpenClaw. */
export interface PeerInstall {
  readonly cacheDir: string;
  /** Folder holding the `node` binary, put first on OpenClaw's PATH. */
  readonly nodeBinDir: string;
  readonly nodePath: string;
  /** The `openclaw` package's CLI entry (its `bin`), run with {@link nodePath}. */
  readonly cliPath: string;
}

/** Locates the install for the pinned versions; throws with the fix when it is missing. */
export function findPeerInstall(): PeerInstall {
  const cacheDir = resolve(
    process.env['OPENCLAW_PEER_CACHE'] ??
      join(homedir(), '.cache', 'openclaw-dingtalk-gateway', 'openclaw-peer'),
  );
  const nodeDir = join(cacheDir, `node-${NODE24_VERSION}`);
  const openclawDir = join(cacheDir, `openclaw-${OPENCLAW_VERSION}`);
  for (const dir of [nodeDir, openclawDir]) {
    if (!existsSync(join(dir, '.complete')))
      throw new Error(`${dir} is not installed: run scripts/openclaw-peer.sh (npm run test:openclaw does)`);
  }
  const packageDir = join(openclawDir, 'node_modules', 'openclaw');
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.['openclaw'];
  if (bin === undefined) throw new Error(`${packageDir}/package.json has no openclaw bin`);
  const nodeBinDir = join(nodeDir, 'bin');
  return { cacheDir, nodeBinDir, nodePath: join(nodeBinDir, 'node'), cliPath: join(packageDir, bin) };
}

/** `openclaw --version` of the install, e.g. `OpenClaw 2026.9.6 (eb377ac)`. */
export function peerVersion(install: PeerInstall): string {
  const scratch = mkdtempSync(join(tmpdir(), 'openclaw-version-'));
  for (const dir of ['home', 'tmp']) mkdirSync(join(scratch, dir));
  try {
    return execFileSync(install.nodePath, [install.cliPath, '--version'], {
      env: isolatedEnv(install, scratch, join(scratch, 'openclaw.json')),
      encoding: 'utf8',
      timeout: 30_000,
    }).trim();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Nothing from the parent environment (API keys, OPENCLAW_* settings) reaches OpenClaw. */
function isolatedEnv(install: PeerInstall, runDir: string, configPath: string): NodeJS.ProcessEnv {
  return {
    PATH: `${install.nodeBinDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: join(runDir, 'home'),
    OPENCLAW_HOME: join(runDir, 'home'),
    OPENCLAW_STATE_DIR: join(runDir, 'state'),
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_NO_AUTO_UPDATE: '1',
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_PROMPT: '1',
    TMPDIR: join(runDir, 'tmp'),
    LANG: 'C.UTF-8',
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The openclaw.json of one run (JSON is valid JSON5). */
function peerConfig(
  port: number,
  token: string,
  modelBaseUrl: string,
  runDir: string,
  gatewayOverrides: Record<string, unknown>,
): object {
  return {
    gateway: {
      mode: 'local',
      port,
      bind: 'loopback',
      auth: { mode: 'token', token },
      http: { endpoints: { chatCompletions: { enabled: true } } },
      ...gatewayOverrides,
    },
    discovery: { mdns: { mode: 'off' } },
    logging: { file: join(runDir, 'logs', 'openclaw.log') },
    update: { checkOnStart: false },
    models: {
      catalogRefresh: { enabled: false }, // no fetch from catalog.openclaw.ai
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: modelBaseUrl,
          apiKey: 'sk-fake-model',
          api: 'openai-completions',
          timeoutSeconds: 60,
          models: [
            {
              id: FAKE_MODEL_ID,
              name: 'Fake Model',
              reasoning: false,
              input: ['text'],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128_000,
              maxTokens: 4_096,
            },
            // The same fake behind a reasoning-capable entry: per-turn thinking levels other than
            // `off` are refused for a non-reasoning model (select it with sessions.patch {model}).
            {
              id: FAKE_REASONING_MODEL_ID,
              name: 'Fake Reasoning Model',
              reasoning: true,
              input: ['text'],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128_000,
              maxTokens: 4_096,
              compat: { supportsReasoningEffort: true },
            },
          ],
        },
      },
    },
    agents: { defaults: { model: { primary: `fake/${FAKE_MODEL_ID}` } } },
  };
}

/** Entries of the shared /tmp folders, to remove only what this run added. */
function snapshotSharedTmp(): Map<string, Set<string> | undefined> {
  const snapshot = new Map<string, Set<string> | undefined>();
  for (const dir of SHARED_TMP_DIRS)
    snapshot.set(dir, existsSync(dir) ? new Set(readdirSync(dir)) : undefined);
  return snapshot;
}

/** True when a process outside `exceptGroup` looks like OpenClaw (gateway, its helpers, the CLI). */
function otherOpenClawRunning(exceptGroup: number | undefined): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const looksLikeOpenClaw =
        (argv[0]?.split('/').at(-1) ?? '').startsWith('openclaw') ||
        argv.some((arg) => arg.includes('/node_modules/openclaw/'));
      if (!looksLikeOpenClaw) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (group !== exceptGroup) return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

export interface OpenClawPeerOptions {
  /** Provider base URL, e.g. {@link FakeModel.baseUrl}. */
  readonly modelBaseUrl: string;
  /** @defaultValue 60 s */
  readonly healthTimeoutMs?: number;
  /**
   * Extra keys of openclaw.json's `gateway` section, e.g. `{ trustedProxies: ['127.0.0.1'] }` so that a
   * client sending `X-Forwarded-For` counts as remote (device pairing).
   */
  readonly gatewayOverrides?: Record<string, unknown>;
}

/** One running OpenClaw gateway. Always `await stop()`. */
export class OpenClawPeer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** The gateway token (random per run; never logged). */
  readonly token: string;
  readonly runDir: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #sharedTmpBefore: Map<string, Set<string> | undefined>;
  #exitStatus: string | undefined;
  #startupMs = 0;
  #stopping: Promise<void> | undefined;

  private constructor(
    baseUrl: string,
    token: string,
    runDir: string,
    child: ChildProcess,
    sharedTmpBefore: Map<string, Set<string> | undefined>,
  ) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.runDir = runDir;
    this.#child = child;
    this.#sharedTmpBefore = sharedTmpBefore;
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitStatus = `exited with ${signal ?? String(code)}`;
        resolve();
      });
    });
  }

  /** Milliseconds from spawn to the first `/health` answer. */
  get startupMs(): number {
    return this.#startupMs;
  }

  /** Starts `openclaw gateway run` on a free loopback port and waits until `/health` answers. */
  static async start(options: OpenClawPeerOptions): Promise<OpenClawPeer> {
    const install = findPeerInstall();
    const runDir = mkdtempSync(join(tmpdir(), 'openclaw-contract-'));
    for (const dir of ['home', 'state', 'tmp', 'logs']) mkdirSync(join(runDir, dir));
    const port = await freePort();
    const token = `contract-${randomBytes(16).toString('hex')}`;
    const configPath = join(runDir, 'openclaw.json');
    writeFileSync(
      configPath,
      JSON.stringify(
        peerConfig(port, token, options.modelBaseUrl, runDir, options.gatewayOverrides ?? {}),
        null,
        2,
      ),
    );

    const sharedTmpBefore = snapshotSharedTmp();
    const output = openSync(join(runDir, 'gateway.out'), 'a');
    const launchedMs = performance.now();
    const child = spawn(
      install.nodePath,
      [install.cliPath, 'gateway', 'run', '--port', String(port), '--bind', 'loopback'],
      // Its own process group, so stop() can also end helper processes it leaves behind.
      {
        cwd: runDir,
        env: isolatedEnv(install, runDir, configPath),
        stdio: ['ignore', output, output],
        detached: true,
      },
    );
    closeSync(output);
    const peer = new OpenClawPeer(`http://127.0.0.1:${port}`, token, runDir, child, sharedTmpBefore);
    try {
      const deadline = Date.now() + (options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS);
      while (!(await answersHealth(peer.baseUrl))) {
        if (peer.#exitStatus !== undefined) throw new Error(`OpenClaw ${peer.#exitStatus} during start`);
        if (Date.now() > deadline) throw new Error('OpenClaw did not answer /health in time');
        await sleep(250);
      }
    } catch (error) {
      const tail = peer.outputTail();
      await peer.stop();
      throw new Error(`${(error as Error).message}; its output ended with:\n${tail}`, { cause: error });
    }
    peer.#startupMs = Math.round(performance.now() - launchedMs);
    return peer;
  }

  /** The last lines OpenClaw wrote to stdout/stderr (for failure messages). */
  outputTail(lines = 30): string {
    try {
      return readFileSync(join(this.runDir, 'gateway.out'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no output)';
    }
  }

  /** `POST /tools/invoke` with the gateway token; returns the tool's `result.details`. */
  async invokeTool(tool: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}/tools/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool, args }),
    });
    const body = (await response.json()) as { ok?: boolean; result?: { details?: unknown } };
    if (!response.ok || body.ok !== true)
      throw new Error(`tool ${tool} failed: HTTP ${response.status} ${JSON.stringify(body)}`);
    return body.result?.details;
  }

  /** The session keys OpenClaw has stored (tool `sessions_list`). */
  async sessionKeys(): Promise<string[]> {
    const details = (await this.invokeTool('sessions_list', { limit: 100 })) as {
      sessions?: { key?: unknown }[];
    };
    return (details.sessions ?? []).map((session) => String(session.key));
  }

  /**
   * SIGTERM, then SIGKILL for the whole process group after {@link STOP_TIMEOUT_MS}; removes what the
   * run added to the shared /tmp folders when no other OpenClaw runs, and the run folder (kept when
   * `OPENCLAW_CONTRACT_KEEP=1`). Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    const pid = this.#child.pid;
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = new AbortController();
      const deadline = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { signal: timer.signal }).catch(
        () => 'exited',
      );
      const outcome = await Promise.race([this.#exited.then(() => 'exited' as const), deadline]);
      timer.abort();
      if (outcome === 'timeout') this.#child.kill('SIGKILL');
      await this.#exited;
    }
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL'); // helpers left in the group this run started
      } catch {
        // The group is already empty.
      }
    }
    this.#cleanSharedTmp(pid);
    if (process.env['OPENCLAW_CONTRACT_KEEP'] === '1') return;
    rmSync(this.runDir, { recursive: true, force: true });
  }

  #cleanSharedTmp(group: number | undefined): void {
    if (otherOpenClawRunning(group)) return;
    for (const [dir, before] of this.#sharedTmpBefore) {
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir)) {
        if (before?.has(entry) !== true && entry.endsWith('.lock.sqlite')) unlinkSync(join(dir, entry));
      }
      if (before === undefined && readdirSync(dir).length === 0) rmdirSync(dir);
    }
  }
}

async function answersHealth(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
