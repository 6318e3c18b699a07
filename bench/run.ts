/**
 * `npm run bench`: the real gateway (built dist/, spawned as the Docker image runs it) and a baseline
 * relay on the official `dingtalk-stream` SDK, each against a fake DingTalk and an instantly answering
 * fake OpenClaw, on the same workloads. Prints markdown tables (summary with ratios, targets, scaling
 * curve, every run) and writes every figure as JSON under .tmp/bench/.
 *
 *   npm run bench                      full run (about 5 minutes on 2 cores)
 *   npm run bench -- --only=gateway    one side only (also --only=sdk)
 *   npm run bench -- --filter=N=5,000  only the runs whose name contains this text
 *   npm run bench -- --no-tmpfs        skip the diagnostic runs with the gateway's state on /dev/shm
 *   npm run bench -- --variant=disk    only the runs of one set-up (disk: the measured one; or tmpfs,
 *                                      keepalive-5s, v8-heap-growth: the diagnostic variants)
 *   npm run bench -- --no-serialize    fake OpenClaw runs requests of one session concurrently
 *   npm run bench -- --profile         `node --cpu-prof` on the throughput workload, with a summary
 *   npm run bench -- --gateway-main=/path/to/dist/main.js   measure another build (A/B of a change)
 *   npm run bench -- --gateway-node-arg=--max-semi-space-size=4   extra node flag for the gateway (repeatable)
 *   npm run bench -- --node=/path/to/node   run both systems under test on another Node.js binary
 *                                           (the gateway then needs --gateway-main in a copy whose
 *                                           better-sqlite3 was built for that Node: BENCHMARKS.md)
 *   npm run bench:ci                   tiny workloads: checks the harness completes, no timing checks
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { REPO_ROOT } from '../test/helpers/gateway-process.js';
import { calibrateCpu, machineFacts } from './machine.js';
import {
  type BenchMode,
  type PlannedScenario,
  VARIANT_LABELS,
  type Variant,
  isVariant,
  planScenarios,
} from './plan.js';
import { profileReport, summariseProfile } from './profile.js';
import { machineBlock, summaryTable, targetsTable } from './report.js';
import { type RunRecord, ms } from './report-format.js';
import { detailTable, diagnosticsTable, scalingTable } from './report-runs.js';
import { runScenario } from './scenario.js';
import { DEFAULT_GATEWAY_MAIN, type TargetKind } from './targets.js';

const OUTPUT_DIR = join(REPO_ROOT, '.tmp', 'bench');
const TMPFS_DIR = '/dev/shm';

function parseCli(): {
  mode: BenchMode;
  targets: TargetKind[];
  useTmpfs: boolean;
  serializeSessions: boolean;
  gatewayMain: string;
  gatewayNodeArgs: string[];
  nodePath: string | undefined;
  filter: string | undefined;
  variant: Variant | undefined;
  command: string;
} {
  const { values } = parseArgs({
    options: {
      ci: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      only: { type: 'string' },
      'no-tmpfs': { type: 'boolean', default: false },
      'no-serialize': { type: 'boolean', default: false },
      'gateway-main': { type: 'string' },
      'gateway-node-arg': { type: 'string', multiple: true },
      node: { type: 'string' },
      filter: { type: 'string' },
      variant: { type: 'string' },
    },
  });
  const mode: BenchMode = values.ci ? 'ci' : values.profile ? 'profile' : 'full';
  const only = values.only;
  if (only !== undefined && only !== 'gateway' && only !== 'sdk')
    throw new Error('--only takes gateway or sdk');
  const targets: TargetKind[] = only === undefined ? ['gateway', 'sdk'] : [only];
  const variant = values.variant;
  if (variant !== undefined && !isVariant(variant))
    throw new Error(`--variant takes one of ${Object.keys(VARIANT_LABELS).join(', ')}`);
  const args = process.argv
    .slice(2)
    .filter((arg) => arg !== '--ci')
    .map((arg) => (/[\s']/.test(arg) ? `'${arg.replaceAll("'", "'\\''")}'` : arg));
  const command = values.ci
    ? 'npm run bench:ci'
    : ['npm run bench', ...(args.length > 0 ? ['--', ...args] : [])].join(' ');
  return {
    mode,
    targets,
    useTmpfs: mode !== 'ci' && !values['no-tmpfs'] && existsSync(TMPFS_DIR),
    serializeSessions: !values['no-serialize'],
    gatewayMain: resolve(values['gateway-main'] ?? DEFAULT_GATEWAY_MAIN),
    gatewayNodeArgs: values['gateway-node-arg'] ?? [],
    nodePath: values.node === undefined ? undefined : resolve(values.node),
    filter: values.filter,
    variant,
    command,
  };
}

function describe(plan: PlannedScenario): string {
  const variant = VARIANT_LABELS[plan.variant];
  return `${plan.name} on ${plan.target}${variant === '' ? '' : ` (${variant})`}`;
}

async function runAll(plans: readonly PlannedScenario[]): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (const [index, plan] of plans.entries()) {
    const startedAt = performance.now();
    process.stderr.write(`[${index + 1}/${plans.length}] ${describe(plan)} ... `);
    try {
      const result = await runScenario(plan);
      records.push({ plan, result, error: undefined });
      process.stderr.write(
        `${result.isComplete ? 'ok' : 'INCOMPLETE'}: ${result.answered}/${result.messages} answered, ` +
          `ACK p99 ${ms(result.ackMs.p99)} ms, ${Math.round(result.throughputPerSecond)} msg/s ` +
          `(${ms(performance.now() - startedAt)} ms)\n`,
      );
      if (!result.isComplete) process.stderr.write(`unanswered: ${result.unansweredSample.join('; ')}\n`);
      for (const [key, count] of Object.entries(result.logCounts))
        process.stderr.write(`  ${count} x ${key}\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      records.push({ plan, result: undefined, error: message.split('\n')[0] });
      process.stderr.write(`FAILED: ${message}\n`);
    }
  }
  return records;
}

function profileSection(records: readonly RunRecord[], profileDir: string): string {
  const parts: string[] = ['### CPU profiles of the gateway (throughput workload)'];
  for (const record of records) {
    const dir = join(profileDir, record.plan.variant);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    const file = files.sort().at(-1);
    if (file === undefined) {
      parts.push(`no profile written for ${describe(record.plan)}`);
      continue;
    }
    const path = join(dir, file);
    parts.push(profileReport(describe(record.plan), path, summariseProfile(path)));
  }
  return parts.join('\n\n');
}

async function main(): Promise<number> {
  const cli = parseCli();
  if (!existsSync(cli.gatewayMain))
    throw new Error(`${cli.gatewayMain} is missing: run \`npm run build\` (npm run bench does)`);
  const profileDir = join(OUTPUT_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  const plans = planScenarios({
    mode: cli.mode,
    targets: cli.targets,
    serializeSessions: cli.serializeSessions,
    tmpfsDir: cli.useTmpfs ? TMPFS_DIR : undefined,
    profileDir,
    gatewayMain: cli.gatewayMain,
    gatewayNodeArgs: cli.gatewayNodeArgs,
    nodePath: cli.nodePath,
  }).filter(
    (plan) =>
      (cli.filter === undefined || plan.name.includes(cli.filter)) &&
      (cli.variant === undefined || plan.variant === cli.variant),
  );
  const facts = machineFacts();
  process.stderr.write(
    `${plans.length} runs; load average ${facts.loadAverage1m ?? '?'} on ${facts.nproc} CPUs\n`,
  );
  const records = await runAll(plans);
  // Again at the end: a host that slowed down during the run shows as a larger figure.
  const cpuCalibrationEndMs = calibrateCpu();
  const sections = [
    `## Benchmark (${cli.mode})`,
    machineBlock(facts, cpuCalibrationEndMs, cli.command, cli.gatewayMain),
  ];
  if (cli.mode === 'profile') {
    sections.push(detailTable(records), profileSection(records, profileDir));
  } else {
    sections.push(
      '### Summary',
      summaryTable(records),
      '### Targets (reported, not asserted)',
      targetsTable(records),
      '### Scaling curve',
      scalingTable(records),
      '### Diagnostic variants',
      diagnosticsTable(records),
      '### Every run',
      detailTable(records),
    );
  }
  console.log(`${sections.join('\n\n')}\n`);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const jsonPath = join(OUTPUT_DIR, `results-${cli.mode}.json`);
  writeFileSync(
    jsonPath,
    JSON.stringify({ facts, cpuCalibrationEndMs, command: cli.command, records }, null, 2),
  );
  process.stderr.write(`figures written to ${jsonPath}\n`);
  const failed = records.filter((r) => r.result === undefined || (cli.mode === 'ci' && !r.result.isComplete));
  return failed.length === 0 ? 0 : 1;
}

// Everything is closed after each run; the deadline only keeps CI from hanging on a leaked handle.
const EXIT_GRACE_MS = 5_000;

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), EXIT_GRACE_MS).unref();
  },
);
