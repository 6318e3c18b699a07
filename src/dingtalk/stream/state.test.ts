import { describe, expect, it } from 'vitest';

import {
  INITIAL_STREAM_STATE,
  transition,
  type StreamEffect,
  type StreamEvent,
  type StreamState,
  type Transition,
} from './state.js';

const URL_A = 'wss://stream.example.test/connect?ticket=t1';

const EVENTS = {
  start: { type: 'start' },
  ticketIssued: { type: 'ticket-issued', url: URL_A },
  ticketRetryable: { type: 'ticket-failed', fatal: false },
  ticketFatal: { type: 'ticket-failed', fatal: true },
  socketOpen: { type: 'socket-open' },
  lostClosed: { type: 'socket-lost', reason: 'closed' },
  lostError: { type: 'socket-lost', reason: 'error' },
  lostHeartbeat: { type: 'socket-lost', reason: 'heartbeat-timeout' },
  lostHandshake: { type: 'socket-lost', reason: 'handshake-failed' },
  serverDisconnect: { type: 'server-disconnect' },
  backoffElapsed: { type: 'backoff-elapsed' },
  stable: { type: 'stable' },
  stop: { type: 'stop' },
  socketClosed: { type: 'socket-closed' },
} as const satisfies Record<string, StreamEvent>;

const ALL_EVENTS: readonly StreamEvent[] = Object.values(EVENTS);

const STATES = {
  idle: { status: 'idle' },
  opening0: { status: 'opening', failures: 0 },
  opening2: { status: 'opening', failures: 2 },
  connecting0: { status: 'connecting', failures: 0 },
  connecting2: { status: 'connecting', failures: 2 },
  openFresh: { status: 'open', failures: 0, isStable: false },
  openUnstable2: { status: 'open', failures: 2, isStable: false },
  openStable: { status: 'open', failures: 0, isStable: true },
  backoff2: { status: 'backoff', failures: 2 },
  stopping: { status: 'stopping' },
  stoppedRequested: { status: 'stopped', reason: 'requested' },
  stoppedFatal: { status: 'stopped', reason: 'fatal' },
} as const satisfies Record<string, StreamState>;

interface Row {
  readonly name: string;
  readonly from: StreamState;
  readonly event: StreamEvent;
  readonly to: StreamState;
  readonly effects: readonly StreamEffect[];
}

const reconnect = (failures: number): StreamEffect => ({ type: 'schedule-reconnect', failures });

/** Every row that changes something. Any (state, event) pair not listed here must be ignored. */
const ROWS: readonly Row[] = [
  // idle
  {
    name: 'idle + start',
    from: STATES.idle,
    event: EVENTS.start,
    to: STATES.opening0,
    effects: [{ type: 'request-ticket' }],
  },
  {
    name: 'idle + stop',
    from: STATES.idle,
    event: EVENTS.stop,
    to: STATES.stoppedRequested,
    effects: [{ type: 'stopped' }],
  },
  // opening
  ...[STATES.opening0, STATES.opening2].flatMap((from): Row[] => [
    {
      name: `opening(${from.failures}) + ticket-issued`,
      from,
      event: EVENTS.ticketIssued,
      to: { status: 'connecting', failures: from.failures },
      effects: [{ type: 'open-socket', url: URL_A }],
    },
    {
      name: `opening(${from.failures}) + ticket-failed(retryable)`,
      from,
      event: EVENTS.ticketRetryable,
      to: { status: 'backoff', failures: from.failures + 1 },
      effects: [reconnect(from.failures + 1)],
    },
    {
      name: `opening(${from.failures}) + ticket-failed(fatal)`,
      from,
      event: EVENTS.ticketFatal,
      to: STATES.stoppedFatal,
      effects: [{ type: 'fail' }],
    },
    {
      name: `opening(${from.failures}) + stop`,
      from,
      event: EVENTS.stop,
      to: STATES.stoppedRequested,
      effects: [{ type: 'cancel-ticket' }, { type: 'stopped' }],
    },
  ]),
  // connecting
  ...[STATES.connecting0, STATES.connecting2].flatMap((from): Row[] => [
    {
      name: `connecting(${from.failures}) + socket-open`,
      from,
      event: EVENTS.socketOpen,
      to: { status: 'open', failures: from.failures, isStable: false },
      effects: [{ type: 'start-stability-timer' }],
    },
    ...[EVENTS.lostClosed, EVENTS.lostError, EVENTS.lostHeartbeat, EVENTS.lostHandshake].map(
      (event): Row => ({
        name: `connecting(${from.failures}) + socket-lost(${event.reason})`,
        from,
        event,
        to: { status: 'backoff', failures: from.failures + 1 },
        effects: [{ type: 'terminate-socket' }, reconnect(from.failures + 1)],
      }),
    ),
    {
      name: `connecting(${from.failures}) + stop`,
      from,
      event: EVENTS.stop,
      to: STATES.stopping,
      effects: [{ type: 'close-socket' }],
    },
  ]),
  // open
  ...[STATES.openFresh, STATES.openUnstable2, STATES.openStable].flatMap((from): Row[] => [
    ...[EVENTS.lostClosed, EVENTS.lostError, EVENTS.lostHeartbeat, EVENTS.lostHandshake].map(
      (event): Row => ({
        name: `${JSON.stringify(from)} + socket-lost(${event.reason})`,
        from,
        event,
        to: { status: 'backoff', failures: from.failures + 1 },
        effects: [{ type: 'terminate-socket' }, reconnect(from.failures + 1)],
      }),
    ),
    {
      name: `${JSON.stringify(from)} + stable`,
      from,
      event: EVENTS.stable,
      to: STATES.openStable,
      effects: [],
    },
    {
      name: `${JSON.stringify(from)} + stop`,
      from,
      event: EVENTS.stop,
      to: STATES.stopping,
      effects: [{ type: 'close-socket' }],
    },
  ]),
  {
    name: 'open, stable + server-disconnect replaces the socket at once',
    from: STATES.openStable,
    event: EVENTS.serverDisconnect,
    to: STATES.opening0,
    effects: [{ type: 'retire-socket' }, { type: 'request-ticket' }],
  },
  {
    name: 'open, not yet stable, failures 0 + server-disconnect goes through backoff',
    from: STATES.openFresh,
    event: EVENTS.serverDisconnect,
    to: { status: 'backoff', failures: 1 },
    effects: [{ type: 'retire-socket' }, reconnect(1)],
  },
  {
    name: 'open, unstable, failures 2 + server-disconnect goes through backoff',
    from: STATES.openUnstable2,
    event: EVENTS.serverDisconnect,
    to: { status: 'backoff', failures: 3 },
    effects: [{ type: 'retire-socket' }, reconnect(3)],
  },
  // backoff
  {
    name: 'backoff(2) + backoff-elapsed',
    from: STATES.backoff2,
    event: EVENTS.backoffElapsed,
    to: STATES.opening2,
    effects: [{ type: 'request-ticket' }],
  },
  {
    name: 'backoff(2) + stop',
    from: STATES.backoff2,
    event: EVENTS.stop,
    to: STATES.stoppedRequested,
    effects: [{ type: 'cancel-reconnect' }, { type: 'stopped' }],
  },
  // stopping
  ...[
    EVENTS.socketClosed,
    EVENTS.lostClosed,
    EVENTS.lostError,
    EVENTS.lostHeartbeat,
    EVENTS.lostHandshake,
  ].map((event): Row => ({
    name: `stopping + ${event.type}`,
    from: STATES.stopping,
    event,
    to: STATES.stoppedRequested,
    effects: [{ type: 'stopped' }],
  })),
];

function sameEvent(a: StreamEvent, b: StreamEvent): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameState(a: StreamState, b: StreamState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const IGNORED: readonly { name: string; from: StreamState; event: StreamEvent }[] = Object.entries(
  STATES,
).flatMap(([stateName, from]) =>
  ALL_EVENTS.filter(
    (event) => !ROWS.some((row) => sameState(row.from, from) && sameEvent(row.event, event)),
  ).map((event) => ({ name: `${stateName} ignores ${JSON.stringify(event)}`, from, event })),
);

/** Runs events in order from `state`, collecting every effect. */
function run(state: StreamState, events: readonly StreamEvent[]): Transition {
  let current = state;
  const effects: StreamEffect[] = [];
  for (const event of events) {
    const result = transition(current, event);
    current = result.state;
    effects.push(...result.effects);
  }
  return { state: current, effects };
}

describe('transition', () => {
  it('starts idle', () => {
    expect(INITIAL_STREAM_STATE).toEqual({ status: 'idle' });
  });

  it.each(ROWS)('$name', ({ from, event, to, effects }) => {
    expect(transition(from, event)).toEqual({ state: to, effects });
  });

  it('covers ignored pairs as well as handled ones', () => {
    // 11 states × 14 events; guards against the table silently shrinking.
    expect(ROWS.length + IGNORED.length).toBe(Object.keys(STATES).length * ALL_EVENTS.length);
  });

  it.each(IGNORED)('$name', ({ from, event }) => {
    const result = transition(from, event);
    expect(result.effects).toEqual([]);
    expect(result.state).toEqual(from);
  });

  it.each([
    ['error then close', [EVENTS.lostError, EVENTS.lostClosed]],
    ['close then error', [EVENTS.lostClosed, EVENTS.lostError]],
    ['heartbeat timeout then close', [EVENTS.lostHeartbeat, EVENTS.lostClosed]],
    ['server disconnect then close', [EVENTS.serverDisconnect, EVENTS.lostClosed]],
    [
      'error, close, heartbeat-timeout, server-disconnect',
      [EVENTS.lostError, EVENTS.lostClosed, EVENTS.lostHeartbeat, EVENTS.serverDisconnect],
    ],
  ])('schedules exactly one reconnect on an unstable socket: %s', (_name, events) => {
    const result = run(STATES.openUnstable2, events);
    expect(result.effects.filter((effect) => effect.type === 'schedule-reconnect')).toEqual([reconnect(3)]);
    expect(result.state).toEqual({ status: 'backoff', failures: 3 });
  });

  it('error followed by close on a stable socket schedules exactly one reconnect', () => {
    const first = transition(STATES.openStable, EVENTS.lostError);
    expect(first.effects).toEqual([{ type: 'terminate-socket' }, reconnect(1)]);
    const second = transition(first.state, EVENTS.lostClosed);
    expect(second).toEqual({ state: { status: 'backoff', failures: 1 }, effects: [] });
  });

  it('a server disconnect on a stable connection leads to one new ticket and no reconnect timer', () => {
    const result = run(STATES.openStable, [
      EVENTS.serverDisconnect,
      EVENTS.lostClosed,
      EVENTS.ticketIssued,
      EVENTS.socketOpen,
    ]);
    expect(result.effects).toEqual([
      { type: 'retire-socket' },
      { type: 'request-ticket' },
      { type: 'open-socket', url: URL_A },
      { type: 'start-stability-timer' },
    ]);
    expect(result.state).toEqual(STATES.openFresh);
  });

  it('the first connection, cut by the server before it became stable, backs off', () => {
    const result = run(INITIAL_STREAM_STATE, [
      EVENTS.start,
      EVENTS.ticketIssued,
      EVENTS.socketOpen,
      EVENTS.serverDisconnect,
    ]);
    expect(result.effects.slice(-2)).toEqual([{ type: 'retire-socket' }, reconnect(1)]);
    expect(result.state).toEqual({ status: 'backoff', failures: 1 });
  });

  it('an accept-then-disconnect server cannot cause an immediate reconnect loop', () => {
    // The replacement connection is cut before it ever became stable: that must go through backoff.
    const result = run(STATES.openStable, [
      EVENTS.serverDisconnect,
      EVENTS.ticketIssued,
      EVENTS.socketOpen,
      EVENTS.serverDisconnect,
    ]);
    expect(result.effects.filter((effect) => effect.type === 'schedule-reconnect')).toHaveLength(1);
    expect(result.effects.filter((effect) => effect.type === 'request-ticket')).toHaveLength(1);
    expect(result.state.status).toBe('backoff');
  });

  it('a replacement connection that became stable is replaced at once again', () => {
    const result = run(STATES.openStable, [
      EVENTS.serverDisconnect,
      EVENTS.ticketIssued,
      EVENTS.socketOpen,
      EVENTS.stable,
      EVENTS.serverDisconnect,
    ]);
    expect(result.effects.slice(-2)).toEqual([{ type: 'retire-socket' }, { type: 'request-ticket' }]);
    expect(result.effects.filter((effect) => effect.type === 'schedule-reconnect')).toEqual([]);
  });

  it('counts five consecutive failures and schedules reconnects 1..5', () => {
    const failOnce = [EVENTS.ticketIssued, EVENTS.socketOpen, EVENTS.lostClosed, EVENTS.backoffElapsed];
    const result = run(transition(INITIAL_STREAM_STATE, EVENTS.start).state, [
      EVENTS.ticketRetryable,
      EVENTS.backoffElapsed,
      ...failOnce,
      EVENTS.ticketIssued,
      EVENTS.lostHandshake,
      EVENTS.backoffElapsed,
      ...failOnce,
      EVENTS.ticketRetryable,
    ]);
    expect(result.effects.filter((effect) => effect.type === 'schedule-reconnect')).toEqual(
      [1, 2, 3, 4, 5].map(reconnect),
    );
    expect(result.state).toEqual({ status: 'backoff', failures: 5 });
  });

  it('resets the failure counter once the connection is stable', () => {
    const unstable = run(STATES.backoff2, [EVENTS.backoffElapsed, EVENTS.ticketIssued, EVENTS.socketOpen]);
    expect(unstable.state).toEqual(STATES.openUnstable2);
    const afterStable = run(unstable.state, [EVENTS.stable, EVENTS.lostClosed]);
    expect(afterStable.effects).toEqual([{ type: 'terminate-socket' }, reconnect(1)]);
  });

  it('keeps the failure counter when the connection drops before it became stable', () => {
    const result = run(STATES.backoff2, [
      EVENTS.backoffElapsed,
      EVENTS.ticketIssued,
      EVENTS.socketOpen,
      EVENTS.lostClosed,
    ]);
    expect(result.effects.at(-1)).toEqual(reconnect(3));
  });

  it('a fatal ticket failure stops for good: start, retries and stop do nothing afterwards', () => {
    const fatal = run(INITIAL_STREAM_STATE, [EVENTS.start, EVENTS.ticketFatal]);
    expect(fatal).toEqual({
      state: STATES.stoppedFatal,
      effects: [{ type: 'request-ticket' }, { type: 'fail' }],
    });
    const after = run(fatal.state, [EVENTS.start, EVENTS.backoffElapsed, EVENTS.stop]);
    expect(after).toEqual({ state: STATES.stoppedFatal, effects: [] });
  });

  it.each([
    ['idle', STATES.idle, [{ type: 'stopped' }]],
    ['opening', STATES.opening2, [{ type: 'cancel-ticket' }, { type: 'stopped' }]],
    ['connecting', STATES.connecting2, [{ type: 'close-socket' }, { type: 'stopped' }]],
    ['open (stable)', STATES.openStable, [{ type: 'close-socket' }, { type: 'stopped' }]],
    ['open (not yet stable)', STATES.openFresh, [{ type: 'close-socket' }, { type: 'stopped' }]],
    ['backoff', STATES.backoff2, [{ type: 'cancel-reconnect' }, { type: 'stopped' }]],
    ['stopping', STATES.stopping, [{ type: 'stopped' }]],
    ['stopped', STATES.stoppedRequested, []],
  ] as const)(
    'stop from %s ends stopped after the socket closes, and a second stop is a no-op',
    (_name, from, effects) => {
      const result = run(from, [EVENTS.stop, EVENTS.stop, EVENTS.socketClosed, EVENTS.stop]);
      expect(result.state).toEqual(STATES.stoppedRequested);
      expect(result.effects).toEqual(effects);
    },
  );

  it('does not reconnect after stop even when late failure signals arrive', () => {
    const result = run(STATES.openStable, [
      EVENTS.stop,
      EVENTS.lostError,
      EVENTS.serverDisconnect,
      EVENTS.backoffElapsed,
      EVENTS.start,
    ]);
    expect(result.effects).toEqual([{ type: 'close-socket' }, { type: 'stopped' }]);
    expect(result.state).toEqual(STATES.stoppedRequested);
  });
});
