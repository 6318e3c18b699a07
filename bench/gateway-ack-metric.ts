/**
 * The gateway's own view of its ACK delay: its `gateway_message_ack_seconds` histogram, read from
 * `/metrics` before and after a measured phase. That clock is the gateway's, so the share of ACKs
 * within a bucket bound carries none of the harness's timer lateness (at bucket resolution only).
 */
import { sumOfSamples } from '../test/helpers/prometheus-text.js';

/** ACKs counted so far in all, and within the bucket bound the bench reports (5 ms). */
export interface AckCounts {
  readonly total: number;
  readonly within5ms: number;
}

/** The histogram's counts now; undefined when the process has no `/metrics` (the SDK relay) or did not answer. */
export async function readAckCounts(metricsUrl: string | undefined): Promise<AckCounts | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const text = await (await fetch(metricsUrl)).text();
    return {
      total: sumOfSamples(text, 'gateway_message_ack_seconds_count'),
      within5ms: sumOfSamples(text, 'gateway_message_ack_seconds_bucket', { le: '0.005' }),
    };
  } catch {
    return undefined;
  }
}

/** Share (0..1) of the ACKs written between the two readings that took 5 ms or less. */
export function shareWithin5ms(
  before: AckCounts | undefined,
  after: AckCounts | undefined,
): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const total = after.total - before.total;
  return total > 0 ? (after.within5ms - before.within5ms) / total : undefined;
}
