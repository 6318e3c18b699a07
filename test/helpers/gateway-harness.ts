import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

import { FakeDingTalk, type FakeDingTalkOptions } from '../fakes/fake-dingtalk.js';
import { FakeOpenClaw } from '../fakes/fake-openclaw.js';
import { GatewayProcess, type GatewayRunOptions } from './gateway-process.js';
import { deepMerge, testConfig } from './test-config.js';

type Config = Record<string, unknown>;

export interface GatewayHarnessOptions<Dir extends string = never> {
  /** Options of the DingTalk fake; a function gives fresh ones (a seeded `random`, say) each time. */
  readonly dingtalk?: FakeDingTalkOptions | (() => FakeDingTalkOptions);
  /** Leaves the DingTalk fake to {@link GatewayHarness.startDingTalk}, for options chosen per test. */
  readonly deferDingTalk?: boolean;
  /** Temporary folders made before and removed after, as name → `mkdtemp` prefix; read from `dirs`. */
  readonly tempDirs?: Readonly<Record<Dir, string>>;
  /** Config under every `start` override (deep-merged); a function can use the temporary folders. */
  readonly config?: Config | ((dirs: Readonly<Record<Dir, string>>) => Config);
  /** Whether `start` waits for the gateway's first Stream connection. @defaultValue `true` */
  readonly waitForConnection?: boolean;
  /** Set up and tear down around each test, or once around the enclosing suite. @defaultValue `'each'` */
  readonly scope?: 'each' | 'all';
}

/** The current fakes and gateways of an end-to-end test, and ways to start them. */
export interface GatewayHarness<Dir extends string = never> {
  readonly dingtalk: FakeDingTalk;
  readonly openclaw: FakeOpenClaw;
  /** The gateway started last (undefined before the first start). */
  readonly gateway: GatewayProcess | undefined;
  readonly dirs: Readonly<Record<Dir, string>>;
  /** Starts the DingTalk fake with `options` (only with `deferDingTalk`). */
  startDingTalk(options?: FakeDingTalkOptions): Promise<FakeDingTalk>;
  /**
   * Starts a gateway on {@link testConfig} with the harness `config` and `override` deep-merged in,
   * and (unless `waitForConnection` is off) waits for its first Stream connection. Every call is a
   * fresh process; all of them are killed at tear-down.
   */
  start(override?: Config, run?: Omit<GatewayRunOptions, 'config'>): Promise<GatewayProcess>;
  /** Starts a gateway with `run` as it is (no test config), killed at tear-down. */
  launch(run: GatewayRunOptions): Promise<GatewayProcess>;
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started`);
  return value;
}

/**
 * Registers the hooks that start the fakes (and make the temporary folders) before each test, and
 * kill every gateway, close the fakes and remove the folders after it; call it at the top of a file
 * or `describe`. Read the fakes from the returned harness inside tests, not when the file loads.
 */
export function useGatewayHarness<Dir extends string = never>(
  options: GatewayHarnessOptions<Dir> = {},
): GatewayHarness<Dir> {
  let dingtalk: FakeDingTalk | undefined;
  let openclaw: FakeOpenClaw | undefined;
  let dirs: Record<Dir, string> | undefined;
  const gateways: GatewayProcess[] = [];

  const setUp = async (): Promise<void> => {
    if (options.deferDingTalk !== true) {
      const fakeOptions = typeof options.dingtalk === 'function' ? options.dingtalk() : options.dingtalk;
      dingtalk = await FakeDingTalk.start(fakeOptions);
    }
    openclaw = await FakeOpenClaw.start();
    const made: Partial<Record<Dir, string>> = {};
    for (const [name, prefix] of Object.entries<string>(options.tempDirs ?? {})) {
      made[name as Dir] = mkdtempSync(join(tmpdir(), prefix));
    }
    dirs = made as Record<Dir, string>;
  };

  const tearDown = async (): Promise<void> => {
    await Promise.all(gateways.splice(0).map((gateway) => gateway.kill()));
    await dingtalk?.close();
    dingtalk = undefined;
    await openclaw?.close();
    openclaw = undefined;
    for (const dir of Object.values<string>(dirs ?? {})) rmSync(dir, { recursive: true, force: true });
    dirs = undefined;
  };

  if (options.scope === 'all') {
    beforeAll(setUp);
    afterAll(tearDown);
  } else {
    beforeEach(setUp);
    afterEach(tearDown);
  }

  const launch = async (run: GatewayRunOptions): Promise<GatewayProcess> => {
    const gateway = await GatewayProcess.start(run);
    gateways.push(gateway);
    return gateway;
  };

  const harness: GatewayHarness<Dir> = {
    get dingtalk() {
      return started(dingtalk, 'the DingTalk fake');
    },
    get openclaw() {
      return started(openclaw, 'the OpenClaw fake');
    },
    get gateway() {
      return gateways.at(-1);
    },
    get dirs() {
      return started(dirs, 'the temporary folders');
    },
    startDingTalk: async (fakeOptions = {}) => {
      if (options.deferDingTalk !== true) throw new Error('startDingTalk needs deferDingTalk');
      dingtalk = await FakeDingTalk.start(fakeOptions);
      return dingtalk;
    },
    start: async (override = {}, run = {}) => {
      const base = typeof options.config === 'function' ? options.config(harness.dirs) : options.config;
      const config = testConfig(harness.dingtalk, harness.openclaw, deepMerge(base ?? {}, override));
      const gateway = await launch({ ...run, config });
      if (options.waitForConnection ?? true) await harness.dingtalk.waitForConnections(1);
      return gateway;
    },
    launch,
  };
  return harness;
}
