/**
 * One benchmark run: fresh fakes, a fresh system under test, a short warm-up, the measured workload,
 * then the figures: ACK latency, throughput, per-hop overhead, memory, CPU and start-up time, plus
 * how busy the harness (which hosts both fakes) was, to tell when the fakes are the bottleneck.
 */
import { tmpdir } from 'node:os';

import { FakeEnv, type Probes } from './fake-env.js';
import { readAckCounts, shareWithin5ms } from './gateway-ack-metric.js';
import { FsyncMonitor, LoopDelayMonitor } from './machine.js';
import { RssSampler, loadAverage1m, pressureSince, readCpuMs, readPressureTotalUs } from './proc-stats.js';
import { type Percentiles, percentiles } from './stats.js';
import { type TargetKind, type TargetProcess, startGateway, startSdkRelay } from './targets.js';
import { type WorkloadSpec, buildMessages, drive } from './workload.js';

export interface ScenarioSpec extends WorkloadSpec {
  /** Row label, e.g. `paced 500/s`. */
  readonly name: string;
  readonly target: TargetKind;
  /** Messages answered before the measured phase (same conversations), to warm up the JIT and pools. */
  readonly warmupMessages: number;
  readonly stallTimeoutMs: number;
  readonly serializeSessions: boolean;
  /** Idle keep-alive timeout of both fakes' HTTP servers. */
  readonly keepAliveTimeoutMs: number;
  readonly nodeArgs?: readonly string[];
  /** Extra `node` arguments for the gateway only, after `nodeArgs`. */
  readonly gatewayNodeArgs?: readonly string[];
  /** The `node` binary for the system under test; the harness's own when unset. */
  readonly nodePath?: string | undefined;
  /** Parent folder of the gateway's state (e.g. /dev/shm to take the disk out of the picture). */
  readonly stateParentDir?: string | undefined;
  /** Gateway entry point; dist/main.js of this repository when unset. */
  readonly gatewayMain?: string | undefined;
}

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly isComplete: boolean;
  readonly messages: number;
  readonly acked: number;
  readonly answered: number;
  readonly duplicates: number;
  /** Session-webhook posts the fake refused (should be 0). */
  readonly refusedPosts: number;
  readonly readyMs: number;
  readonly connectedMs: number;
  readonly ackMs: Percentiles;
  /** First push → last ACK. */
  readonly allAckedMs: number;
  /** First push → last push. */
  readonly pushSpanMs: number;
  readonly endToEndMs: Percentiles;
  /** Frame pushed → OpenClaw request received. */
  readonly hopInMs: Percentiles;
  /** OpenClaw response ended → webhook post received. */
  readonly hopOutMs: Percentiles;
  /** Answered messages per second, first push → last answer. */
  readonly throughputPerSecond: number;
  readonly durationMs: number;
  readonly cpuMsPerMessage: number;
  readonly rssAtStartBytes: number;
  readonly rssMaxBytes: number;
  readonly rssEndBytes: number;
  /** VmHWM: peak RSS over the whole process life, start-up included. */
  readonly peakRssBytes: number;
  readonly harnessCpuMsPerMessage: number;
  /** Event-loop utilisation of the harness main thread (fake DingTalk) during the measured phase, 0..1. */
  readonly harnessElu: number;
  /** The same for the fake OpenClaw's worker thread. */
  readonly openclawElu: number;
  /**
   * How late the harness main thread's own timers fired during the measured phase (ms): the delay
   * any timestamp of the fake DingTalk (push, ACK, webhook) can carry, whatever the system under test.
   */
  readonly harnessLoopDelayMs: Percentiles;
  /**
   * Share of the measured phase's ACKs the gateway itself timed at 5 ms or less, from frame arrival
   * to ACK written (`gateway_message_ack_seconds`); undefined for the SDK relay.
   */
  readonly gatewayAckWithin5msShare: number | undefined;
  /** fsync latency in the state's filesystem during the measured phase (harness probe every 100 ms). */
  readonly fsyncMs: Percentiles;
  /** PSI `some` share of the measured phase: CPU and I/O contention on the machine (0..1). */
  readonly cpuPressure: number | undefined;
  readonly ioPressure: number | undefined;
  readonly loadAverageStart: number | undefined;
  readonly loadAverageEnd: number | undefined;
  readonly exitCode: number | null;
  /** Last lines of the target's output when something went wrong. */
  readonly outputTail: readonly string[];
  /** How often each log message (`level: msg`) appeared in the target's output. */
  readonly logCounts: Readonly<Record<string, number>>;
  /** Up to 10 messages never answered, with the last stage each reached. */
  readonly unansweredSample: readonly string[];
}

const RSS_SAMPLE_INTERVAL_MS = 50;
const FSYNC_SAMPLE_INTERVAL_MS = 100;

function differences(to: Float64Array, from: Float64Array): number[] {
  const values: number[] = [];
  for (let i = 0; i < to.length; i += 1) {
    const value = (to[i] ?? Number.NaN) - (from[i] ?? Number.NaN);
    if (!Number.isNaN(value)) values.push(value);
  }
  return values;
}

function unansweredSample(probes: Probes): string[] {
  const sample: string[] = [];
  for (let seq = 0; seq < probes.answers.length && sample.length < 10; seq += 1) {
    if ((probes.answers[seq] ?? 0) > 0) continue;
    const stages: [string, Float64Array][] = [
      ['pushed', probes.push],
      ['acked', probes.ack],
      ['asked OpenClaw', probes.request],
      ['OpenClaw answered', probes.responseEnd],
    ];
    const reached = stages
      .filter(([, times]) => !Number.isNaN(times[seq] ?? Number.NaN))
      .map(([name]) => name);
    sample.push(`#${seq}: ${reached.join(', ') || 'not pushed'}`);
  }
  return sample;
}

function refusedPosts(env: FakeEnv): number {
  return env.dingtalk.webhookPosts.filter((post) => {
    const body = post.response.body as { errcode?: unknown } | undefined;
    return post.response.status !== 200 || body?.errcode !== 0;
  }).length;
}

/** Runs one scenario end to end; always stops the target and closes the fakes. */
export async function runScenario(spec: ScenarioSpec): Promise<ScenarioResult> {
  const env = await FakeEnv.start({
    serializeSessions: spec.serializeSessions,
    keepAliveTimeoutMs: spec.keepAliveTimeoutMs,
  });
  let target: TargetProcess | undefined;
  try {
    const options = {
      dingtalk: env.dingtalk,
      openclaw: env.openclaw,
      nodeArgs: spec.nodeArgs ?? [],
      nodePath: spec.nodePath,
    };
    target =
      spec.target === 'gateway'
        ? await startGateway({
            ...options,
            nodeArgs: [...options.nodeArgs, ...(spec.gatewayNodeArgs ?? [])],
            stateParentDir: spec.stateParentDir,
            gatewayMain: spec.gatewayMain,
          })
        : await startSdkRelay(options);
    const connection = env.dingtalk.liveConnections()[0];
    if (connection === undefined) throw new Error('no live Stream connection');
    env.watchAcks(connection);
    const warmup = buildMessages(env, 'warm', spec.warmupMessages, spec.conversations);
    const warm = await drive(env, connection, 'warm', warmup, { kind: 'burst' }, spec.stallTimeoutMs);
    if (!warm.isComplete) {
      const lastLines = target.output.lines.slice(-12).join('\n');
      throw new Error(
        `warm-up incomplete: ${warm.probes.answered}/${warmup.length} answered, ` +
          `${warm.probes.acked} ACKed, ${env.dingtalk.liveConnections().length} live connection(s); ` +
          `last output of the ${spec.target}:\n${lastLines}`,
      );
    }
    const messages = buildMessages(env, 'bench', spec.messages, spec.conversations);
    await env.collectOpenClawTimes();
    return await measure(spec, env, target, connection, messages);
  } finally {
    await target?.stop();
    await env.close();
  }
}

async function measure(
  spec: ScenarioSpec,
  env: FakeEnv,
  target: TargetProcess,
  connection: Parameters<typeof drive>[1],
  messages: Parameters<typeof drive>[3],
): Promise<ScenarioResult> {
  const loadAverageStart = loadAverage1m();
  const fsync = new FsyncMonitor(spec.stateParentDir ?? tmpdir(), FSYNC_SAMPLE_INTERVAL_MS);
  const cpuPressureStart = readPressureTotalUs('cpu');
  const ioPressureStart = readPressureTotalUs('io');
  const measuredAt = performance.now();
  const sampler = new RssSampler(target.pid, RSS_SAMPLE_INTERVAL_MS);
  const rssAtStartBytes = sampler.stop().lastRssBytes;
  const rss = new RssSampler(target.pid, RSS_SAMPLE_INTERVAL_MS);
  const cpuStart = readCpuMs(target.pid) ?? 0;
  const harnessCpuStart = process.cpuUsage();
  const eluStart = performance.eventLoopUtilization();
  const acksBefore = await readAckCounts(target.metricsUrl);
  const loopDelay = new LoopDelayMonitor();
  const driven = await drive(env, connection, 'bench', messages, spec.arrival, spec.stallTimeoutMs);
  const acksAfter = await readAckCounts(target.metricsUrl);
  const harnessElu = performance.eventLoopUtilization(eluStart).utilization;
  const harnessLoopDelayMs = loopDelay.stop();
  const harnessCpu = process.cpuUsage(harnessCpuStart);
  const openclawElu = await env.collectOpenClawTimes();
  const cpuEnd = readCpuMs(target.pid) ?? cpuStart;
  const memory = rss.stop();
  const fsyncMs = await fsync.stop();
  const cpuPressure = pressureSince('cpu', cpuPressureStart, performance.now() - measuredAt);
  const ioPressure = pressureSince('io', ioPressureStart, performance.now() - measuredAt);
  const probes: Probes = driven.probes;
  const refused = refusedPosts(env);
  const exitCode = await target.stop();
  const spanMs = probes.lastAnswerAt - driven.firstPushAt;
  const isComplete = driven.isComplete && probes.acked === spec.messages;
  return {
    spec,
    isComplete,
    messages: spec.messages,
    acked: probes.acked,
    answered: probes.answered,
    duplicates: probes.duplicates,
    refusedPosts: refused,
    readyMs: target.readyMs,
    connectedMs: target.connectedMs,
    ackMs: percentiles(differences(probes.ack, probes.push)),
    allAckedMs: probes.lastAckAt - driven.firstPushAt,
    pushSpanMs: driven.pushSpanMs,
    endToEndMs: percentiles(differences(probes.webhook, probes.push)),
    hopInMs: percentiles(differences(probes.request, probes.push)),
    hopOutMs: percentiles(differences(probes.webhook, probes.responseEnd)),
    throughputPerSecond: spanMs > 0 ? (probes.answered * 1000) / spanMs : 0,
    durationMs: driven.finishedAt - driven.firstPushAt,
    cpuMsPerMessage: (cpuEnd - cpuStart) / Math.max(1, probes.answered),
    rssAtStartBytes,
    rssMaxBytes: memory.maxRssBytes,
    rssEndBytes: memory.lastRssBytes,
    peakRssBytes: memory.peakRssBytes,
    harnessCpuMsPerMessage: (harnessCpu.user + harnessCpu.system) / 1000 / Math.max(1, probes.answered),
    harnessElu,
    openclawElu,
    harnessLoopDelayMs,
    gatewayAckWithin5msShare: shareWithin5ms(acksBefore, acksAfter),
    fsyncMs,
    cpuPressure,
    ioPressure,
    loadAverageStart,
    loadAverageEnd: loadAverage1m(),
    exitCode,
    outputTail: isComplete && exitCode === 0 ? [] : target.output.lines.slice(-20),
    logCounts: Object.fromEntries(target.output.counts),
    unansweredSample: unansweredSample(probes),
  };
}
