import { describe, expect, it } from 'vitest';

import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('keeps two gateways apart (one registry each) and names every series by convention', async () => {
    const first = createMetrics({ collectProcessMetrics: false });
    const second = createMetrics({ collectProcessMetrics: false });
    first.turns.inc({ outcome: 'ok' });
    expect((await second.turns.get()).values).toEqual([]);
    const metrics = await first.registry.getMetricsAsJSON();
    const names = (type: string): string[] =>
      metrics.filter((metric) => String(metric.type) === type).map((metric) => metric.name);
    expect(
      metrics.map((metric) => metric.name).filter((name) => !/^(gateway|dingtalk)_[a-z_]+$/.test(name)),
    ).toEqual([]);
    expect(names('counter').filter((name) => !name.endsWith('_total'))).toEqual([]);
    expect(names('histogram').filter((name) => !name.endsWith('_seconds'))).toEqual([]);
    expect(names('counter').length).toBeGreaterThan(10);
  });

  it('adds the default process metrics when asked', async () => {
    const text = await createMetrics({ collectProcessMetrics: true }).registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('reads the depth gauges at scrape time, and keeps the last inbox depth when the store fails', async () => {
    const metrics = createMetrics({ collectProcessMetrics: false });
    let inbox: number | Error = 4;
    let queue = { queued: 2, running: 1 };
    metrics.observeDepths({
      inbox: () => (inbox instanceof Error ? Promise.reject(inbox) : Promise.resolve(inbox)),
      queue: () => Promise.resolve(queue),
      outbox: () => 5,
    });
    const scrape = async (): Promise<string> => metrics.registry.metrics();
    let text = await scrape();
    expect(text).toContain('gateway_inbox_depth 4');
    expect(text).toContain('gateway_queue_depth{state="queued"} 2');
    expect(text).toContain('gateway_queue_depth{state="running"} 1');
    expect(text).toContain('gateway_outbox_waiting_messages 5');
    inbox = new Error('store closed');
    queue = { queued: 0, running: 0 };
    text = await scrape();
    expect(text).toContain('gateway_inbox_depth 4');
    expect(text).toContain('gateway_queue_depth{state="running"} 0');
  });
});
