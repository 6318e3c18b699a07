/** How reconnect delays grow. */
export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly initialDelayMs: number;
  /** No delay is ever longer than this. */
  readonly maxDelayMs: number;
  /** Growth per further failure. @defaultValue 2 */
  readonly factor: number;
  /** Share of the delay removed at random, so replicas that failed together do not retry together. */
  readonly jitterRatio: number;
}

/** Defaults for a DingTalk Stream reconnect: 1 s doubling to 60 s, up to 20 % shorter at random. */
export const STREAM_RECONNECT_POLICY = {
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  factor: 2,
  jitterRatio: 0.2,
} as const satisfies BackoffPolicy;

/**
 * Delay before retrying after `failures` consecutive failures (1-based):
 * `min(max, initial * factor^(failures-1))`, then reduced by up to `jitterRatio` using `random()`
 * (a value in [0, 1)). Never exceeds `maxDelayMs`, never negative.
 */
export function computeBackoffMs(policy: BackoffPolicy, failures: number, random: () => number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** exponent);
  const jitter = base * policy.jitterRatio * Math.min(Math.max(random(), 0), 1);
  return Math.max(0, Math.round(base - jitter));
}
