import type fc from 'fast-check';

/**
 * Seed of every fast-check property: fixed, so CI runs are deterministic and a failure reproduces.
 * Set `FUZZ_SEED` (an integer) to explore other inputs locally; a failing run prints its seed and path.
 */
export const FUZZ_SEED = Number.parseInt(process.env['FUZZ_SEED'] ?? '', 10) || 20_240_607;

/** fast-check parameters: the fixed seed, `numRuns` runs, no time-based interruption. */
export function fuzzParams<T>(numRuns: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns, endOnFailure: false };
}
