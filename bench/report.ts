/** The headline report tables: gateway vs SDK with ratios, the targets, machine facts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../test/helpers/gateway-process.js';
import { CALIBRATION_ROUNDS, type MachineFacts } from './machine.js';
import { MIB, type RunRecord, maxOf, mib, ms, num, pick, ratio, results, table } from './report-format.js';
import { median, slope } from './stats.js';

function sdkVersion(): string {
  const path = join(REPO_ROOT, 'node_modules', 'dingtalk-stream', 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** MiB of extra peak RSS per 1,000 active conversations, from the N = largest scaling runs. */
export function rssPerThousandConversations(
  records: readonly RunRecord[],
  target: 'gateway' | 'sdk',
): number | undefined {
  const scaling = results(records, target).filter((r) => r.spec.name.startsWith('N='));
  const largestN = Math.max(0, ...scaling.map((r) => r.messages));
  const points = scaling
    .filter((r) => r.messages === largestN)
    .map((r) => ({ x: Math.min(r.messages, r.spec.conversations) / 1000, y: r.rssMaxBytes / MIB }));
  return slope(points);
}

type Row = [
  label: string,
  gateway: number | undefined,
  sdk: number | undefined,
  format: (v: number | undefined) => string,
];

function percentOf(share: number | undefined): number | undefined {
  return share === undefined ? undefined : share * 100;
}

/** The headline table: gateway, SDK and their ratio, figure by figure. */
export function summaryTable(records: readonly RunRecord[]): string {
  const side = (target: 'gateway' | 'sdk') => {
    const paced = pick(records, 'paced', target);
    const burst = pick(records, 'burst', target);
    const overhead = pick(records, 'overhead', target);
    const scaling = results(records, target).filter((r) => r.spec.name.startsWith('N='));
    const headline =
      scaling.find((r) => r.messages === 20_000 && r.spec.conversations === 1_000) ?? scaling.at(-1);
    const all = results(records, target);
    return { paced, burst, overhead, headline, all };
  };
  const g = side('gateway');
  const s = side('sdk');
  const rows: Row[] = [
    [
      'start-up, spawn -> ready (ms, median of runs)',
      median(g.all.map((r) => r.readyMs)),
      median(s.all.map((r) => r.readyMs)),
      ms,
    ],
    [
      'spawn -> Stream socket accepted (ms, median)',
      median(g.all.map((r) => r.connectedMs)),
      median(s.all.map((r) => r.connectedMs)),
      ms,
    ],
    [`${g.paced?.spec.name ?? 'paced'}: ACK p50 (ms)`, g.paced?.ackMs.p50, s.paced?.ackMs.p50, ms],
    ['... ACK p99 (ms)', g.paced?.ackMs.p99, s.paced?.ackMs.p99, ms],
    ['... ACK max (ms)', g.paced?.ackMs.max, s.paced?.ackMs.max, ms],
    [
      "... ACKs within 5 ms by the gateway's own clock (%)",
      percentOf(g.paced?.gatewayAckWithin5msShare),
      percentOf(s.paced?.gatewayAckWithin5msShare),
      (v) => num(v, 1),
    ],
    ['... answered', g.paced?.answered, s.paced?.answered, (v) => num(v)],
    ['... push -> reply p50 (ms)', g.paced?.endToEndMs.p50, s.paced?.endToEndMs.p50, ms],
    ['... push -> reply p99 (ms)', g.paced?.endToEndMs.p99, s.paced?.endToEndMs.p99, ms],
    ['... hop in p99: push -> OpenClaw request (ms)', g.paced?.hopInMs.p99, s.paced?.hopInMs.p99, ms],
    ['... hop out p99: OpenClaw end -> webhook (ms)', g.paced?.hopOutMs.p99, s.paced?.hopOutMs.p99, ms],
    ['... disk fsync p99 meanwhile (ms, harness probe)', g.paced?.fsyncMs.p99, s.paced?.fsyncMs.p99, ms],
    [
      '... harness timer lateness p99 meanwhile (ms)',
      g.paced?.harnessLoopDelayMs.p99,
      s.paced?.harnessLoopDelayMs.p99,
      ms,
    ],
    [`${g.burst?.spec.name ?? 'burst'}: ACK p50 (ms)`, g.burst?.ackMs.p50, s.burst?.ackMs.p50, ms],
    ['... ACK p99 (ms)', g.burst?.ackMs.p99, s.burst?.ackMs.p99, ms],
    ['... ACK max (ms)', g.burst?.ackMs.max, s.burst?.ackMs.max, ms],
    ['... all ACKed, first push -> last ACK (ms)', g.burst?.allAckedMs, s.burst?.allAckedMs, ms],
    ['... harness push loop (ms)', g.burst?.pushSpanMs, s.burst?.pushSpanMs, ms],
    ['... all answered (ms)', g.burst?.durationMs, s.burst?.durationMs, ms],
    [
      `${g.overhead?.spec.name ?? 'overhead'}: hop in p50 (ms)`,
      g.overhead?.hopInMs.p50,
      s.overhead?.hopInMs.p50,
      ms,
    ],
    ['... hop in p99 (ms)', g.overhead?.hopInMs.p99, s.overhead?.hopInMs.p99, ms],
    ['... hop out p50 (ms)', g.overhead?.hopOutMs.p50, s.overhead?.hopOutMs.p50, ms],
    ['... hop out p99 (ms)', g.overhead?.hopOutMs.p99, s.overhead?.hopOutMs.p99, ms],
    ['... ACK p99 (ms)', g.overhead?.ackMs.p99, s.overhead?.ackMs.p99, ms],
    [
      '... harness timer lateness p99 meanwhile (ms)',
      g.overhead?.harnessLoopDelayMs.p99,
      s.overhead?.harnessLoopDelayMs.p99,
      ms,
    ],
    [
      `throughput ${g.headline?.spec.name ?? ''} (answered/s)`,
      g.headline?.throughputPerSecond,
      s.headline?.throughputPerSecond,
      (v) => num(v),
    ],
    ['... CPU per message (ms)', g.headline?.cpuMsPerMessage, s.headline?.cpuMsPerMessage, (v) => num(v, 3)],
    [
      'peak RSS over all runs, VmHWM (MiB)',
      maxOf(g.all.map((r) => r.peakRssBytes)),
      maxOf(s.all.map((r) => r.peakRssBytes)),
      mib,
    ],
    [
      'RSS per 1,000 active conversations (MiB)',
      rssPerThousandConversations(records, 'gateway'),
      rssPerThousandConversations(records, 'sdk'),
      (v) => num(v, 2),
    ],
  ];
  return table(
    ['figure', 'gateway', 'SDK baseline', 'gateway / SDK'],
    rows.map(([label, gateway, sdk, format]) => [label, format(gateway), format(sdk), ratio(gateway, sdk)]),
  );
}

/** The targets for this 2-core machine: reported, never asserted. */
export function targetsTable(records: readonly RunRecord[]): string {
  const paced = pick(records, 'paced', 'gateway');
  const burst = pick(records, 'burst', 'gateway');
  const overhead = pick(records, 'overhead', 'gateway');
  const gateway = results(records, 'gateway');
  const headlineName = 'N=20,000 M=1,000';
  const gwThroughput = pick(
    records,
    'scaling',
    'gateway',
    'disk',
    (p) => p.name === headlineName,
  )?.throughputPerSecond;
  const sdkThroughput = pick(
    records,
    'scaling',
    'sdk',
    'disk',
    (p) => p.name === headlineName,
  )?.throughputPerSecond;
  const peak = maxOf(gateway.map((r) => r.peakRssBytes));
  const ready = maxOf(gateway.map((r) => r.readyMs));
  const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');
  const rows: string[][] = [
    [
      'paced 500 msg/s for 10 s: ACK p99 < 5 ms and every message answered',
      paced === undefined
        ? 'n/a'
        : `p99 ${ms(paced.ackMs.p99)} ms, ${num(paced.answered)}/${num(paced.messages)} answered` +
          ` (gateway's own clock: ${num(percentOf(paced.gatewayAckWithin5msShare), 1)} % within 5 ms)`,
      verdict(paced && (paced.ackMs.p99 ?? Infinity) < 5 && paced.answered === paced.messages),
    ],
    [
      'burst of 2,000: all ACKed within 0.5 s',
      burst === undefined ? 'n/a' : `last ACK ${ms(burst.allAckedMs)} ms after the first push`,
      verdict(burst && burst.acked === burst.messages && burst.allAckedMs < 500),
    ],
    [
      `throughput >= 2x SDK baseline (${headlineName})`,
      `${num(gwThroughput)} vs ${num(sdkThroughput)} msg/s (${ratio(gwThroughput, sdkThroughput)})`,
      verdict(
        gwThroughput === undefined || sdkThroughput === undefined
          ? undefined
          : gwThroughput >= 2 * sdkThroughput,
      ),
    ],
    [
      'overhead p99 < 2 ms per hop at 200 msg/s',
      overhead === undefined
        ? 'n/a'
        : `in ${ms(overhead.hopInMs.p99)} ms, out ${ms(overhead.hopOutMs.p99)} ms`,
      verdict(overhead && (overhead.hopInMs.p99 ?? Infinity) < 2 && (overhead.hopOutMs.p99 ?? Infinity) < 2),
    ],
    ['peak RSS < 150 MB', `${mib(peak)} MiB`, verdict(peak === undefined ? undefined : peak < 150e6)],
    [
      'ready < 1 s',
      `worst ${ms(ready)} ms over ${gateway.length} starts`,
      verdict(ready === undefined ? undefined : ready < 1000),
    ],
  ];
  return table(['target', 'measured (gateway)', 'verdict'], rows);
}

export function machineBlock(
  facts: MachineFacts,
  cpuCalibrationEndMs: number,
  command: string,
  gatewayMain: string,
): string {
  return [
    `- command: \`${command}\``,
    `- gateway: \`node ${gatewayMain}\`; SDK baseline: dingtalk-stream ${sdkVersion()}`,
    `- nproc: ${facts.nproc}; CPU: ${facts.cpuModel}; memory: ${facts.memoryGiB} GiB; node ${facts.node}`,
    `- load average (1 min) at start: ${num(facts.loadAverage1m, 2)}`,
    `- fsync of a 4 KiB append in ${facts.fsyncDir}: p50 ${ms(facts.fsyncMs.p50)} ms, p99 ${ms(facts.fsyncMs.p99)} ms, max ${ms(facts.fsyncMs.max)} ms`,
    `- CPU calibration (a fixed JS workload, median of ${CALIBRATION_ROUNDS} rounds; lower is a faster box): ${ms(facts.cpuCalibrationMs)} ms at the start, ${ms(cpuCalibrationEndMs)} ms at the end`,
  ].join('\n');
}
