/** Report tables over many runs: the scaling curve, diagnostic variants next to their base, every run. */
import { VARIANT_LABELS } from './plan.js';
import { type RunRecord, mib, ms, num, pct, pick, ratio, table } from './report-format.js';
import type { ScenarioResult } from './scenario.js';

/** Throughput and cost for every N x M, gateway next to SDK. */
export function scalingTable(records: readonly RunRecord[]): string {
  const rows: string[][] = [];
  for (const record of records) {
    if (record.plan.role !== 'scaling' || record.plan.target !== 'gateway' || record.plan.variant !== 'disk')
      continue;
    const g = record.result;
    const s = pick(records, 'scaling', 'sdk', 'disk', (plan) => plan.name === record.plan.name);
    rows.push([
      num(record.plan.messages),
      num(record.plan.conversations),
      num(g?.throughputPerSecond),
      num(s?.throughputPerSecond),
      ratio(g?.throughputPerSecond, s?.throughputPerSecond),
      ms(g?.endToEndMs.p99),
      ms(s?.endToEndMs.p99),
      mib(g?.rssMaxBytes),
      mib(s?.rssMaxBytes),
      num(g?.cpuMsPerMessage, 3),
      num(s?.cpuMsPerMessage, 3),
      `${num(g?.harnessElu, 2)} / ${num(s?.harnessElu, 2)}`,
    ]);
  }
  return table(
    [
      'N',
      'M',
      'gateway msg/s',
      'SDK msg/s',
      'gw / SDK',
      'gw push->reply p99 ms',
      'SDK p99 ms',
      'gw max RSS MiB',
      'SDK max RSS MiB',
      'gw CPU ms/msg',
      'SDK CPU ms/msg',
      'fake DingTalk ELU gw / SDK',
    ],
    rows,
  );
}

/** Log lines of a run that report a failure: gateway warn/error lines, SDK relay failures. */
export function problemCount(result: ScenarioResult): number {
  let total = 0;
  for (const [key, count] of Object.entries(result.logCounts)) {
    if (/^(warn|error|fatal): |^relay failed/.test(key)) total += count;
  }
  return total;
}

/** Diagnostic variants next to the measured set-up, same workload and side. */
export function diagnosticsTable(records: readonly RunRecord[]): string {
  const rows: string[][] = [];
  const shownBases = new Set<string>();
  for (const record of records) {
    if (record.plan.variant === 'disk') continue;
    const base = pick(
      records,
      record.plan.role,
      record.plan.target,
      'disk',
      (p) => p.name === record.plan.name,
    );
    const baseKey = `${record.plan.name} ${record.plan.target}`;
    const runs: [string, ScenarioResult | undefined][] = shownBases.has(baseKey)
      ? []
      : [['as measured', base]];
    shownBases.add(baseKey);
    runs.push([VARIANT_LABELS[record.plan.variant], record.result]);
    for (const [label, r] of runs) {
      rows.push([
        `${record.plan.name}, ${record.plan.target}`,
        label,
        num(r?.throughputPerSecond),
        ms(r?.ackMs.p99),
        r?.gatewayAckWithin5msShare === undefined ? 'n/a' : num(r.gatewayAckWithin5msShare * 100, 1),
        ms(r?.hopInMs.p99),
        ms(r?.hopOutMs.p99),
        ms(r?.endToEndMs.p99),
        num(r?.cpuMsPerMessage, 3),
        `${ms(r?.fsyncMs.p50)} / ${ms(r?.fsyncMs.p99)}`,
        r === undefined ? 'n/a' : num(problemCount(r)),
      ]);
    }
  }
  return table(
    [
      'workload',
      'set-up',
      'msg/s',
      'ACK p99 ms',
      "% ACKs <= 5 ms, gateway's clock",
      'hop in p99 ms',
      'hop out p99 ms',
      'push->reply p99 ms',
      'CPU ms/msg',
      'fsync p50/p99 ms',
      'warnings',
    ],
    rows,
  );
}

/** Every run with every figure (diagnostic runs included). */
export function detailTable(records: readonly RunRecord[]): string {
  const rows = records.map(({ plan, result: r, error }) => {
    const label = [plan.name, plan.target, VARIANT_LABELS[plan.variant]].filter(Boolean);
    if (r === undefined) return [label.join(', '), `error: ${error ?? '?'}`, ...Array<string>(14).fill('')];
    return [
      label.join(', '),
      `${num(r.answered)}/${num(r.messages)}${r.duplicates > 0 ? ` (+${r.duplicates} dup)` : ''}${r.refusedPosts > 0 ? ` (${r.refusedPosts} refused)` : ''}`,
      `${ms(r.ackMs.p50)} / ${ms(r.ackMs.p99)} / ${ms(r.ackMs.max)}`,
      ms(r.allAckedMs),
      `${ms(r.endToEndMs.p50)} / ${ms(r.endToEndMs.p99)}`,
      `${ms(r.hopInMs.p50)} / ${ms(r.hopInMs.p99)}`,
      `${ms(r.hopOutMs.p50)} / ${ms(r.hopOutMs.p99)}`,
      num(r.throughputPerSecond),
      num(r.cpuMsPerMessage, 3),
      `${mib(r.rssAtStartBytes)} / ${mib(r.rssMaxBytes)} / ${mib(r.peakRssBytes)}`,
      ms(r.readyMs),
      `${num(r.harnessElu, 2)} / ${num(r.openclawElu, 2)} / ${num(r.harnessCpuMsPerMessage, 3)} / ${ms(r.harnessLoopDelayMs.p99)}`,
      `${num(r.loadAverageStart, 1)} -> ${num(r.loadAverageEnd, 1)}`,
      `${pct(r.cpuPressure)} / ${pct(r.ioPressure)}`,
      `${ms(r.fsyncMs.p50)} / ${ms(r.fsyncMs.p99)}`,
      num(problemCount(r)),
    ];
  });
  return table(
    [
      'run',
      'answered',
      'ACK p50/p99/max ms',
      'all ACKed ms',
      'push->reply p50/p99 ms',
      'hop in p50/p99 ms',
      'hop out p50/p99 ms',
      'msg/s',
      'CPU ms/msg',
      'RSS start/max/HWM MiB',
      'ready ms',
      'harness ELU fake DingTalk / fake OpenClaw, CPU ms/msg, timer lateness p99 ms',
      'load 1m',
      'PSI cpu / io',
      'fsync p50/p99 ms',
      'warnings',
    ],
    rows,
  );
}
