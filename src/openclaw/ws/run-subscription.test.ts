import { describe, expect, it } from 'vitest';

import { OpenClawAuthError } from '../../errors.js';
import type { ConnectionListener } from './connection-options.js';
import type { EventFrame } from './frames.js';
import { RunInbox, type RunInboxItem } from './run-inbox.js';
import { RunEventRouter } from './run-subscription.js';

/** The one thing the router uses of the connection: its listener list. */
function listenerSource() {
  const listeners = new Set<ConnectionListener>();
  return {
    listeners,
    subscribe(listener: ConnectionListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    event(event: string, payload: unknown): void {
      const frame: EventFrame = { type: 'event', event, payload };
      for (const listener of listeners) listener.onEvent?.(frame);
    },
  };
}

async function drain(inbox: RunInbox): Promise<RunInboxItem[]> {
  const items: RunInboxItem[] = [];
  const stop = new AbortController();
  setImmediate(() => stop.abort());
  try {
    for (;;) items.push(await inbox.next(stop.signal));
  } catch {
    return items;
  }
}

const runIds = (items: readonly RunInboxItem[]) =>
  items.map((item) =>
    item.kind === 'event'
      ? `${item.frame.event}:${(item.frame.payload as { runId?: string }).runId}`
      : item.kind,
  );

/** A router on a listener source, with a turn of `run-a` and one of `run-b` routed. */
function twoTurns() {
  const source = listenerSource();
  const router = new RunEventRouter(source);
  const a = new RunInbox();
  const b = new RunInbox();
  router.add('run-a', a);
  router.add('run-b', b);
  return { source, a, b };
}

describe('RunEventRouter', () => {
  it('puts one listener on the connection, whatever the number of turns', () => {
    const source = listenerSource();
    const router = new RunEventRouter(source);
    for (let i = 0; i < 50; i += 1) router.add(`run-${i}`, new RunInbox());
    expect(source.listeners.size).toBe(1);
    expect(router.size).toBe(50);
  });

  it('routes chat and agent events by runId and skips the rest', async () => {
    const { source, a, b } = twoTurns();
    source.event('chat', { runId: 'run-a', state: 'delta' });
    source.event('agent', { runId: 'run-b' });
    source.event('tick', { runId: 'run-a' });
    source.event('chat', { runId: 'run-unknown' });
    source.event('chat', { state: 'no run id' });
    source.event('chat', 'not an object');
    expect(runIds(await drain(a))).toEqual(['chat:run-a']);
    expect(runIds(await drain(b))).toEqual(['agent:run-b']);
  });

  it('follows a renamed run and stops routing once closed', async () => {
    const source = listenerSource();
    const router = new RunEventRouter(source);
    const inbox = new RunInbox();
    const route = router.add('idempotency-key', inbox);
    route.rename('accepted-run');
    source.event('chat', { runId: 'idempotency-key' });
    source.event('chat', { runId: 'accepted-run' });
    expect(runIds(await drain(inbox))).toEqual(['chat:accepted-run']);
    route.close();
    source.event('chat', { runId: 'accepted-run' });
    source.listeners.forEach((listener) => listener.onLost?.(new Error('lost')));
    expect(await drain(inbox)).toEqual([]);
    expect(router.size).toBe(0);
  });

  it('gives two turns of the same runId both its events', async () => {
    const source = listenerSource();
    const router = new RunEventRouter(source);
    const first = new RunInbox();
    const second = new RunInbox();
    router.add('same', first);
    const secondRoute = router.add('same', second);
    source.event('chat', { runId: 'same' });
    secondRoute.close();
    source.event('agent', { runId: 'same' });
    expect(runIds(await drain(first))).toEqual(['chat:same', 'agent:same']);
    expect(runIds(await drain(second))).toEqual(['chat:same']);
  });

  it('tells every open turn when the connection is lost, reopened or given up', async () => {
    const { source, a, b } = twoTurns();
    const refused = new OpenClawAuthError('AUTH_TOKEN_MISMATCH', 'check the token');
    for (const listener of source.listeners) {
      listener.onLost?.(new Error('socket closed'));
      listener.onOpen?.(2);
      listener.onGaveUp?.(refused);
    }
    for (const inbox of [a, b]) {
      const items = await drain(inbox);
      expect(items.map((item) => item.kind)).toEqual(['lost', 'reopened', 'gave-up']);
      expect(items[2]).toMatchObject({ error: refused });
    }
  });
});
