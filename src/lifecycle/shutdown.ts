import { describeCause } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { settlesWithin } from '../util/settles-within.js';

/** One step of the ordered shutdown. */
export interface ShutdownStep {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  /** The step is abandoned (logged) after this long. */
  readonly timeoutMs: number;
}

/**
 * Runs the steps in order, each bounded by its own deadline; a failing or slow step is logged and
 * the next one still runs, so every owned resource gets its chance to close.
 */
export async function runShutdown(steps: readonly ShutdownStep[], log: Logger): Promise<void> {
  for (const step of steps) {
    const startedMs = performance.now();
    try {
      const result = await settlesWithin(step.run(), step.timeoutMs);
      const elapsedMs = Math.round(performance.now() - startedMs);
      if (!result.isDone) log.warn({ step: step.name, timeoutMs: step.timeoutMs }, 'shutdown step timed out');
      else log.debug({ step: step.name, elapsedMs }, 'shutdown step done');
    } catch (error) {
      log.warn({ step: step.name, error: describeCause(error) }, 'shutdown step failed');
    }
  }
}
