/** Reading the Prometheus text exposition format the gateway serves on `/metrics`. */

const SAMPLE_LINE = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/;

/** Sum of the samples of metric `name` whose labels include `labels` (0 when there is none). */
export function sumOfSamples(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line);
    if (match?.[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      total += Number(match[3]);
    }
  }
  return total;
}
