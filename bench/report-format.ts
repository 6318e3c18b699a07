/** Formatting and lookup helpers shared by the report tables (report.ts, report-runs.ts). */
import type { PlannedScenario, Variant } from './plan.js';
import type { ScenarioResult } from './scenario.js';

/** A finished run with the plan entry it came from. */
export interface RunRecord {
  readonly plan: PlannedScenario;
  readonly result: ScenarioResult | undefined;
  readonly error: string | undefined;
}

export const MIB = 1024 * 1024;

export function ms(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString('en');
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined || Number.isNaN(bytes) ? 'n/a' : (bytes / MIB).toFixed(1);
}

export function pct(share: number | undefined): string {
  return share === undefined ? 'n/a' : `${Math.round(share * 100)} %`;
}

export function num(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** gateway / SDK; n/a unless both are positive (a slope can come out negative, a ratio of it means nothing). */
export function ratio(gateway: number | undefined, sdk: number | undefined): string {
  if (gateway === undefined || sdk === undefined || !(gateway > 0) || !(sdk > 0)) return 'n/a';
  return `${(gateway / sdk).toFixed(2)}x`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function pick(
  records: readonly RunRecord[],
  role: PlannedScenario['role'],
  target: 'gateway' | 'sdk',
  variant: Variant = 'disk',
  filter: (plan: PlannedScenario) => boolean = () => true,
): ScenarioResult | undefined {
  return records.find(
    (r) => r.plan.role === role && r.plan.target === target && r.plan.variant === variant && filter(r.plan),
  )?.result;
}

export function results(
  records: readonly RunRecord[],
  target: 'gateway' | 'sdk',
  variant = 'disk',
): ScenarioResult[] {
  return records
    .filter((r) => r.plan.target === target && r.plan.variant === variant)
    .flatMap((r) => (r.result === undefined ? [] : [r.result]));
}

export function maxOf(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : Math.max(...values);
}
