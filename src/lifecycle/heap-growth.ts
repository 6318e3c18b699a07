import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may let the old generation grow past the live heap before its next full collection
 * (`--heap-growing-percent`). V8's own choice, up to several times the live heap when allocation is
 * fast, took a backlog of 2,000 messages to 230–270 MiB RSS for about 30 MiB of live objects; at 20 %
 * the peak stays at 150–170 MiB, for 2–9 % less peak throughput (BENCHMARKS.md, fix 13).
 */
export const HEAP_GROWING_PERCENT = 20;

const FLAG = '--heap-growing-percent';

/**
 * Whether `node` was started with its own heap growth setting (Node refuses it in NODE_OPTIONS):
 * `node --heap-growing-percent=0 dist/main.js` gives V8 back its default.
 */
export function hasOwnHeapGrowth(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`));
}

/**
 * Caps V8's heap growth at {@link HEAP_GROWING_PERCENT} unless the process chose its own. V8 reads
 * this flag each time it sizes the heap after a collection, so setting it at start-up works.
 * Returns the percent in force, or undefined when left to the command line.
 */
export function capHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (hasOwnHeapGrowth(execArgv)) return undefined;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
