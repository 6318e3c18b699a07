import { afterEach, describe, expect, it, vi } from 'vitest';

import { isTextual, type OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { ConversationOutbox, type DeliverFn } from './conversation-outbox.js';

const MAX_CHARS = 1_000;

function text(value: string): OutgoingMessage {
  return { kind: 'text', text: value };
}

function markdown(value: string, title = value): OutgoingMessage {
  return { kind: 'markdown', title, text: value };
}

function image(mediaId: string): OutgoingMessage {
  return { kind: 'image', mediaId };
}

/** The text of a text/markdown message, `[kind]` for media. */
function textOf(message: OutgoingMessage): string {
  return isTextual(message) ? message.text : `[${message.kind}]`;
}

interface Delivery {
  readonly conversation: string;
  readonly message: OutgoingMessage;
  readonly atMs: number;
}

/**
 * Records every delivery in `log` and resolves with the delivery's 1-based number; rejects for texts
 * containing `boom`. `delayMs` makes each delivery take that long (real timers).
 */
function recorder(
  log: Delivery[],
  conversation: string,
  options: { delayMs?: number; inFlight?: { now: number; max: number } } = {},
): DeliverFn<number> {
  return async (message) => {
    const inFlight = options.inFlight;
    if (inFlight !== undefined) {
      inFlight.now += 1;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
    }
    log.push({ conversation, message, atMs: Date.now() });
    const number = log.length;
    if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    if (inFlight !== undefined) inFlight.now -= 1;
    if (textOf(message).includes('boom')) throw new Error(`failed: ${textOf(message)}`);
    return number;
  };
}

let outboxes: ConversationOutbox<number>[] = [];

function outbox(limitPerWindow: number, windowMs: number, now?: () => number): ConversationOutbox<number> {
  const created = new ConversationOutbox<number>({
    limitPerWindow,
    windowMs,
    ...(now === undefined ? {} : { now }),
  });
  outboxes.push(created);
  return created;
}

afterEach(() => {
  for (const created of outboxes) created.stop();
  outboxes = [];
  vi.useRealTimers();
});

describe('ConversationOutbox (real timers)', () => {
  it('sends one at a time in submission order, without coalescing while not throttled', async () => {
    const box = outbox(100, 1_000);
    const log: Delivery[] = [];
    const inFlight = { now: 0, max: 0 };
    const deliver = recorder(log, 'a', { delayMs: 5, inFlight });
    const results = await Promise.all(
      ['m1', 'm2', 'm3', 'm4', 'm5'].map((value) => box.send('a', text(value), MAX_CHARS, deliver)),
    );
    expect(log.map((d) => d.message)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'].map(text));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(inFlight.max).toBe(1);
  });

  it('coalesces queued messages of the same kind once the window is full', async () => {
    const box = outbox(2, 60);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const results = await Promise.all(
      ['m1', 'm2', 'm3', 'm4', 'm5'].map((value) => box.send('a', text(value), MAX_CHARS, deliver)),
    );
    expect(log.map((d) => d.message)).toEqual([text('m1'), text('m2'), text('m3\n\nm4\n\nm5')]);
    expect(results).toEqual([1, 2, 3, 3, 3]);
    const [first, , third] = log;
    expect(third!.atMs - first!.atMs).toBeGreaterThanOrEqual(55);
  });

  it('never coalesces beyond maxChars', async () => {
    const box = outbox(1, 15);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const forty = (fill: string): OutgoingMessage => text(fill.repeat(40));
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((fill) => box.send('a', forty(fill), 100, deliver)));
    expect(log.map((d) => textOf(d.message).length)).toEqual([40, 82, 82, 40]);
    expect(
      log.map((d) =>
        textOf(d.message)
          .replaceAll('\n', '')
          .replace(/(.)\1*/g, '$1'),
      ),
    ).toEqual(['a', 'bc', 'de', 'f']);
  });

  it('never mixes kinds when coalescing and keeps the first markdown title', async () => {
    const box = outbox(1, 15);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const messages = [text('t0'), text('t1'), text('t2'), markdown('md1'), markdown('md2'), text('t3')];
    await Promise.all(messages.map((message) => box.send('a', message, MAX_CHARS, deliver)));
    expect(log.map((d) => d.message)).toEqual([
      text('t0'),
      text('t1\n\nt2'),
      { kind: 'markdown', title: 'md1', text: 'md1\n\nmd2' },
      text('t3'),
    ]);
  });

  it('never coalesces media messages', async () => {
    const box = outbox(1, 15);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const messages = [text('t0'), image('@img1'), image('@img2'), text('t1'), text('t2')];
    const results = await Promise.all(messages.map((message) => box.send('a', message, MAX_CHARS, deliver)));
    expect(log.map((d) => d.message)).toEqual([text('t0'), image('@img1'), image('@img2'), text('t1\n\nt2')]);
    expect(results).toEqual([1, 2, 3, 4, 4]);
  });

  it('keeps conversations independent', async () => {
    const box = outbox(1, 50);
    const log: Delivery[] = [];
    const a1 = box.send('a', text('a1'), MAX_CHARS, recorder(log, 'a'));
    const a2 = box.send('a', text('a2'), MAX_CHARS, recorder(log, 'a'));
    const b1 = box.send('b', text('b1'), MAX_CHARS, recorder(log, 'b'));
    const settled: string[] = [];
    await Promise.all([
      a1.then(() => settled.push('a1')),
      a2.then(() => settled.push('a2')),
      b1.then(() => settled.push('b1')),
    ]);
    expect(log.map((d) => textOf(d.message))).toEqual(['a1', 'b1', 'a2']);
    expect(settled).toEqual(['a1', 'b1', 'a2']);
    expect(log[1]!.atMs - log[0]!.atMs).toBeLessThan(40);
  });

  it('rejects only the batch whose delivery failed', async () => {
    const box = outbox(1, 15);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const results = await Promise.allSettled([
      box.send('a', text('ok1'), MAX_CHARS, deliver),
      box.send('a', markdown('boom1'), MAX_CHARS, deliver),
      box.send('a', markdown('x2'), MAX_CHARS, deliver),
      box.send('a', text('ok3'), MAX_CHARS, deliver),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(results[1]).toEqual({ status: 'rejected', reason: new Error('failed: boom1\n\nx2') });
    expect(results[2]).toEqual(results[1]);
    expect(results[3]).toEqual({ status: 'fulfilled', value: 3 });
  });

  it('keeps sending after a failed delivery when not throttled', async () => {
    const box = outbox(100, 1_000);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const results = await Promise.allSettled(
      ['ok1', 'boom', 'ok3'].map((value) => box.send('a', text(value), MAX_CHARS, deliver)),
    );
    expect(results).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('failed: boom') },
      { status: 'fulfilled', value: 3 },
    ]);
  });

  it('counts messages waiting for a slot over all conversations', async () => {
    const box = outbox(1, 10_000);
    const log: Delivery[] = [];
    const sent = [
      box.send('a', text('a1'), MAX_CHARS, recorder(log, 'a')),
      box.send('a', text('a2'), MAX_CHARS, recorder(log, 'a')),
      box.send('a', text('a3'), MAX_CHARS, recorder(log, 'a')),
      box.send('b', text('b1'), MAX_CHARS, recorder(log, 'b')),
    ];
    expect(box.waiting).toBe(2);
    box.stop();
    await Promise.allSettled(sent);
    expect(box.waiting).toBe(0);
  });

  it('stop() rejects the messages waiting for a slot, and later ones of a throttled conversation', async () => {
    const box = outbox(1, 10_000);
    const log: Delivery[] = [];
    const deliver = recorder(log, 'a');
    const sent = ['m1', 'm2', 'm3'].map((value) => box.send('a', text(value), MAX_CHARS, deliver));
    // Observe every outcome at once so no rejection goes unhandled while the first is awaited.
    const settled = Promise.allSettled(sent);
    await expect(sent[0]).resolves.toBe(1);
    box.stop();
    expect(await settled).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('outbox stopped') },
      { status: 'rejected', reason: new Error('outbox stopped') },
    ]);
    await expect(box.send('a', text('m4'), MAX_CHARS, deliver)).rejects.toThrow('outbox stopped');
    expect(log.map((d) => textOf(d.message))).toEqual(['m1']);
  });
});

describe('ConversationOutbox.prune (injected clock, fake timers)', () => {
  function setup(): { box: ConversationOutbox<number>; log: Delivery[]; clock: { nowMs: number } } {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = { nowMs: 0 };
    return { box: outbox(1, 1_000, () => clock.nowMs), log: [], clock };
  }

  async function advance(clock: { nowMs: number }, ms: number): Promise<void> {
    clock.nowMs += ms;
    await vi.advanceTimersByTimeAsync(ms);
  }

  it('keeps a conversation whose window still holds a send, so the limit still applies', async () => {
    const { box, log, clock } = setup();
    await box.send('a', text('m1'), MAX_CHARS, recorder(log, 'a'));
    await advance(clock, 500);
    box.prune();
    const second = box.send('a', text('m2'), MAX_CHARS, recorder(log, 'a'));
    await advance(clock, 499);
    expect(log).toHaveLength(1);
    await advance(clock, 1);
    await expect(second).resolves.toBe(2);
  });

  it('leaves a conversation that waits for a slot alone', async () => {
    const { box, log, clock } = setup();
    const deliver = recorder(log, 'a');
    const sent = [
      box.send('a', text('m1'), MAX_CHARS, deliver),
      box.send('a', text('m2'), MAX_CHARS, deliver),
    ];
    await advance(clock, 10);
    box.prune();
    sent.push(box.send('a', text('m3'), MAX_CHARS, deliver));
    await advance(clock, 10);
    expect(log.map((d) => textOf(d.message))).toEqual(['m1']);
    await advance(clock, 1_000);
    expect(await Promise.all(sent)).toEqual([1, 2, 2]);
    expect(log.map((d) => textOf(d.message))).toEqual(['m1', 'm2\n\nm3']);
  });

  it('forgets an idle conversation; its next message leaves at once', async () => {
    const { box, log, clock } = setup();
    await box.send('a', text('m1'), MAX_CHARS, recorder(log, 'a'));
    await advance(clock, 1_000);
    box.prune();
    const next = box.send('a', text('m2'), MAX_CHARS, recorder(log, 'a'));
    await vi.advanceTimersByTimeAsync(0);
    await expect(next).resolves.toBe(2);
    expect(log).toHaveLength(2);
  });
});

describe('ConversationOutbox.delayMs', () => {
  it('tells how long until a number of messages could leave a conversation, queued ones first', async () => {
    let nowMs = 1_000;
    const box = outbox(3, 60_000, () => nowMs);
    const log: Delivery[] = [];
    expect(box.delayMs('c1', 3)).toBe(0);
    await box.send('c1', text('a'), MAX_CHARS, recorder(log, 'c1'));
    nowMs = 2_000;
    await box.send('c1', text('b'), MAX_CHARS, recorder(log, 'c1'));
    expect(box.delayMs('c1', 1)).toBe(0);
    expect(box.delayMs('c1', 2)).toBe(59_000);
    expect(box.delayMs('c1', 3)).toBe(60_000);
    // Other conversations have their own window.
    expect(box.delayMs('c2', 3)).toBe(0);
  });
});
