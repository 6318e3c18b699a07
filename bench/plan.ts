/**
 * What each mode of `npm run bench` runs. Figures asked for in issue 6: ACK latency at a paced rate
 * and under a burst, end-to-end throughput for N messages over M conversations (the scaling curve),
 * per-hop overhead at a moderate rate, memory, CPU per message and start-up time; every workload on
 * the gateway and on the SDK baseline.
 */
import { LONG_KEEP_ALIVE_MS } from './fake-env.js';
import type { ScenarioSpec } from './scenario.js';
import type { TargetKind } from './targets.js';
import type { Arrival } from './workload.js';

export type BenchMode = 'full' | 'ci' | 'profile';

export interface PlanOptions {
  readonly mode: BenchMode;
  readonly targets: readonly TargetKind[];
  readonly serializeSessions: boolean;
  /** Also run the main workloads with the gateway's state on this tmpfs folder (disk taken out). */
  readonly tmpfsDir: string | undefined;
  /** Folder for `--cpu-prof` output (profile mode). */
  readonly profileDir: string;
  /** Gateway entry point to run instead of this repository's dist/main.js. */
  readonly gatewayMain: string | undefined;
  /** Extra `node` arguments for the gateway process only (e.g. V8 heap flags, for an A/B). */
  readonly gatewayNodeArgs: readonly string[];
  /** The `node` binary that runs both systems under test; the harness's own when unset. */
  readonly nodePath: string | undefined;
}

/** Most messages pushed but not answered in the throughput runs; keeps every conversation queue < 1,000. */
export const THROUGHPUT_WINDOW = 2_000;

/** Role of a scenario in the report. */
export type ScenarioRole = 'paced' | 'burst' | 'overhead' | 'scaling' | 'profile';

/**
 * `disk`: the measured set-up (state in os.tmpdir() on the real disk). Diagnostic variants: `tmpfs`, the
 * gateway's state on /dev/shm (no fsync cost); `keepalive-5s`, both fakes closing idle connections
 * after Node's default 5 s instead of {@link LONG_KEEP_ALIVE_MS}.
 */
export type Variant = 'disk' | 'tmpfs' | 'keepalive-5s' | 'v8-heap-growth';

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  disk: '',
  tmpfs: 'state on tmpfs',
  'keepalive-5s': 'fakes keep-alive 5 s',
  'v8-heap-growth': "V8's own heap growth",
};

/** Whether `name` is one of the set-ups above (for the `--variant` option). */
export function isVariant(name: string): name is Variant {
  return Object.hasOwn(VARIANT_LABELS, name);
}

/**
 * The gateway caps V8's heap growth at start-up (src/lifecycle/heap-growth.ts) unless `node` got its
 * own setting; 0 is V8's default, its own growth factor (README, "Memory").
 */
export const V8_DEFAULT_HEAP_GROWTH_FLAGS: readonly string[] = ['--heap-growing-percent=0'];

/** Node's default `server.keepAliveTimeout`. */
const NODE_KEEP_ALIVE_MS = 5_000;

export interface PlannedScenario extends ScenarioSpec {
  readonly role: ScenarioRole;
  readonly variant: Variant;
}

interface Shape {
  readonly role: ScenarioRole;
  readonly name: string;
  readonly messages: number;
  readonly conversations: number;
  readonly arrival: Arrival;
}

function fullShapes(): Shape[] {
  const window: Arrival = { kind: 'window', maxOutstanding: THROUGHPUT_WINDOW };
  const shapes: Shape[] = [
    { role: 'paced', name: 'paced 500/s x 10 s', messages: 5_000, conversations: 1_000, arrival: pace(500) },
    { role: 'burst', name: 'burst 2,000', messages: 2_000, conversations: 1_000, arrival: { kind: 'burst' } },
    {
      role: 'overhead',
      name: 'paced 200/s x 10 s',
      messages: 2_000,
      conversations: 1_000,
      arrival: pace(200),
    },
  ];
  for (const messages of [1_000, 5_000, 20_000]) {
    for (const conversations of [10, 1_000, 10_000]) {
      const name = `N=${messages.toLocaleString('en')} M=${conversations.toLocaleString('en')}`;
      shapes.push({ role: 'scaling', name, messages, conversations, arrival: window });
    }
  }
  return shapes;
}

function ciShapes(): Shape[] {
  return [
    { role: 'paced', name: 'paced 100/s (ci)', messages: 30, conversations: 5, arrival: pace(100) },
    { role: 'burst', name: 'burst 30 (ci)', messages: 30, conversations: 10, arrival: { kind: 'burst' } },
    {
      role: 'scaling',
      name: 'N=40 M=4 (ci)',
      messages: 40,
      conversations: 4,
      arrival: { kind: 'window', maxOutstanding: 10 },
    },
  ];
}

function pace(ratePerSecond: number): Arrival {
  return { kind: 'paced', ratePerSecond };
}

/** The ordered list of runs for `options.mode`. */
export function planScenarios(options: PlanOptions): PlannedScenario[] {
  const common = {
    keepAliveTimeoutMs: LONG_KEEP_ALIVE_MS,
    gatewayMain: options.gatewayMain,
    gatewayNodeArgs: options.gatewayNodeArgs,
    nodePath: options.nodePath,
    serializeSessions: options.serializeSessions,
    stallTimeoutMs: options.mode === 'ci' ? 15_000 : 60_000,
    warmupMessages: options.mode === 'ci' ? 5 : 200,
  };
  if (options.mode === 'profile') {
    const shape = { messages: 20_000, conversations: 1_000 };
    const variants: { variant: Variant; dir: string | undefined }[] = [{ variant: 'disk', dir: undefined }];
    if (options.tmpfsDir !== undefined) variants.push({ variant: 'tmpfs', dir: options.tmpfsDir });
    return variants.map(({ variant, dir }) => ({
      ...common,
      ...shape,
      arrival: { kind: 'window', maxOutstanding: THROUGHPUT_WINDOW },
      role: 'profile',
      name: `profile N=20,000 M=1,000 (${variant})`,
      target: 'gateway',
      variant,
      stateParentDir: dir,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', `${options.profileDir}/${variant}`],
    }));
  }
  const shapes = options.mode === 'ci' ? ciShapes() : fullShapes();
  const planned: PlannedScenario[] = [];
  for (const shape of shapes) {
    for (const target of options.targets) planned.push({ ...common, ...shape, target, variant: 'disk' });
    const isThroughputProbe =
      shape.role === 'scaling' && shape.messages === 5_000 && shape.conversations === 1_000;
    const isDiagnostic = shape.role !== 'scaling' || isThroughputProbe;
    if (options.tmpfsDir !== undefined && options.targets.includes('gateway') && isDiagnostic) {
      planned.push({
        ...common,
        ...shape,
        target: 'gateway',
        variant: 'tmpfs',
        stateParentDir: options.tmpfsDir,
      });
    }
    // What the heap growth cap saves and costs, on the runs that set the peak RSS.
    const isPeakMemoryRun =
      shape.role === 'scaling' && shape.messages === 20_000 && shape.conversations >= 1_000;
    if (options.mode === 'full' && isPeakMemoryRun && options.targets.includes('gateway')) {
      planned.push({
        ...common,
        ...shape,
        target: 'gateway',
        variant: 'v8-heap-growth',
        gatewayNodeArgs: [...V8_DEFAULT_HEAP_GROWTH_FLAGS, ...options.gatewayNodeArgs],
      });
    }
    if (options.mode === 'full' && isThroughputProbe) {
      for (const target of options.targets) {
        planned.push({
          ...common,
          ...shape,
          target,
          variant: 'keepalive-5s',
          keepAliveTimeoutMs: NODE_KEEP_ALIVE_MS,
        });
      }
    }
  }
  return planned;
}
