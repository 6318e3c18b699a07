/**
 * The gateway's own view of its ACK delay: its `gateway_message_ack_seconds` histogram, read from
 * `/metrics` before and after a measured phase. That clock is the gateway's, so the share of ACKs
 * within a bucket bound carries none of the harness's timer lateness (at bucket resolution only).
 */

/** Cumulative count per bucket bound (`le` as the gateway prints it, e.g. `0.005`, `+Inf`). */
export type AckBuckets = ReadonlyMap<string, number>;

const BUCKET_LINE = /^gateway_message_ack_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm;

/** The histogram's buckets now; undefined when the process exports none (the SDK relay) or did not answer. */
export async function readAckBuckets(metricsUrl: string | undefined): Promise<AckBuckets | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const text = await (await fetch(metricsUrl)).text();
    const buckets = new Map<string, number>();
    for (const [, le, count] of text.matchAll(BUCKET_LINE)) {
      if (le !== undefined && count !== undefined) buckets.set(le, Number(count));
    }
    return buckets.size > 0 ? buckets : undefined;
  } catch {
    return undefined;
  }
}

/** Share (0..1) of the ACKs written between the two readings that took at most `le` seconds. */
export function shareWithin(
  before: AckBuckets | undefined,
  after: AckBuckets | undefined,
  le: string,
): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total <= 0) return undefined;
  return ((after.get(le) ?? 0) - (before.get(le) ?? 0)) / total;
}
