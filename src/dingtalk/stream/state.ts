/**
 * The Stream connection lifecycle as a pure state machine (STYLE.md S1–S3): `transition` decides,
 * `stream-client.ts` carries out the effects. Exactly one effect, `schedule-reconnect`, leads to a
 * new connection after a failure, so a second failure signal for the same socket (error, then close)
 * arrives in `backoff` and is ignored instead of starting a second reconnect.
 *
 * `failures` counts consecutive failed attempts (and server disconnects of connections that were not
 * yet stable); it resets once a connection stayed open for `stableAfterMs` (event `stable`).
 */
export type StreamState =
  | { readonly status: 'idle' }
  | { readonly status: 'opening'; readonly failures: number }
  | { readonly status: 'connecting'; readonly failures: number }
  /** `isStable`: open for `stableAfterMs` already (set by the `stable` event). */
  | { readonly status: 'open'; readonly failures: number; readonly isStable: boolean }
  | { readonly status: 'backoff'; readonly failures: number }
  | { readonly status: 'stopping' }
  | { readonly status: 'stopped'; readonly reason: 'requested' | 'fatal' };

export type StreamStatus = StreamState['status'];

/** Why a socket was given up. */
export type SocketLossReason = 'closed' | 'error' | 'heartbeat-timeout' | 'handshake-failed';

export type StreamEvent =
  | { readonly type: 'start' }
  | { readonly type: 'ticket-issued'; readonly url: string }
  | { readonly type: 'ticket-failed'; readonly fatal: boolean }
  | { readonly type: 'socket-open' }
  | { readonly type: 'socket-lost'; readonly reason: SocketLossReason }
  | { readonly type: 'server-disconnect' }
  | { readonly type: 'backoff-elapsed' }
  | { readonly type: 'stable' }
  | { readonly type: 'stop' }
  | { readonly type: 'socket-closed' };

export type StreamEffect =
  | { readonly type: 'request-ticket' }
  | { readonly type: 'cancel-ticket' }
  | { readonly type: 'open-socket'; readonly url: string }
  /** Drop the current socket at once (it is dead or failed). */
  | { readonly type: 'terminate-socket' }
  /** Close the current socket with 1000 (shutdown). */
  | { readonly type: 'close-socket' }
  /** Keep the current socket for its in-flight acks, stop using it, close it once drained. */
  | { readonly type: 'retire-socket' }
  | { readonly type: 'schedule-reconnect'; readonly failures: number }
  | { readonly type: 'cancel-reconnect' }
  | { readonly type: 'start-stability-timer' }
  | { readonly type: 'fail' }
  | { readonly type: 'stopped' };

export interface Transition {
  readonly state: StreamState;
  readonly effects: readonly StreamEffect[];
}

export const INITIAL_STREAM_STATE: StreamState = { status: 'idle' };

const stay = (state: StreamState): Transition => ({ state, effects: [] });

function fail(failures: number, effects: StreamEffect[] = []): Transition {
  const next = failures + 1;
  return {
    state: { status: 'backoff', failures: next },
    effects: [...effects, { type: 'schedule-reconnect', failures: next }],
  };
}

/** Decides the next state and the effects to run. Events that do not apply to a state are ignored. */
export function transition(state: StreamState, event: StreamEvent): Transition {
  if (event.type === 'stop') return stop(state);
  switch (state.status) {
    case 'idle':
      return event.type === 'start'
        ? { state: { status: 'opening', failures: 0 }, effects: [{ type: 'request-ticket' }] }
        : stay(state);
    case 'opening':
      if (event.type === 'ticket-issued') {
        return {
          state: { status: 'connecting', failures: state.failures },
          effects: [{ type: 'open-socket', url: event.url }],
        };
      }
      if (event.type === 'ticket-failed') {
        return event.fatal
          ? { state: { status: 'stopped', reason: 'fatal' }, effects: [{ type: 'fail' }] }
          : fail(state.failures);
      }
      return stay(state);
    case 'connecting':
      if (event.type === 'socket-open') {
        return {
          state: { status: 'open', failures: state.failures, isStable: false },
          effects: [{ type: 'start-stability-timer' }],
        };
      }
      if (event.type === 'socket-lost') return fail(state.failures, [{ type: 'terminate-socket' }]);
      return stay(state);
    case 'open':
      if (event.type === 'socket-lost') return fail(state.failures, [{ type: 'terminate-socket' }]);
      if (event.type === 'stable') return stay({ status: 'open', failures: 0, isStable: true });
      if (event.type === 'server-disconnect') {
        // A stable connection is replaced at once; one cut before it became stable goes through
        // backoff, so a server that accepts and disconnects at once cannot cause a reconnect loop.
        return state.isStable
          ? {
              state: { status: 'opening', failures: 0 },
              effects: [{ type: 'retire-socket' }, { type: 'request-ticket' }],
            }
          : fail(state.failures, [{ type: 'retire-socket' }]);
      }
      return stay(state);
    case 'backoff':
      return event.type === 'backoff-elapsed'
        ? { state: { status: 'opening', failures: state.failures }, effects: [{ type: 'request-ticket' }] }
        : stay(state);
    case 'stopping':
      return event.type === 'socket-closed' || event.type === 'socket-lost'
        ? { state: { status: 'stopped', reason: 'requested' }, effects: [{ type: 'stopped' }] }
        : stay(state);
    case 'stopped':
      return stay(state);
  }
}

function stop(state: StreamState): Transition {
  const stopped: StreamState = { status: 'stopped', reason: 'requested' };
  switch (state.status) {
    case 'idle':
      return { state: stopped, effects: [{ type: 'stopped' }] };
    case 'backoff':
      return { state: stopped, effects: [{ type: 'cancel-reconnect' }, { type: 'stopped' }] };
    case 'opening':
      return { state: stopped, effects: [{ type: 'cancel-ticket' }, { type: 'stopped' }] };
    case 'connecting':
    case 'open':
      return { state: { status: 'stopping' }, effects: [{ type: 'close-socket' }] };
    case 'stopping':
    case 'stopped':
      return stay(state);
  }
}
