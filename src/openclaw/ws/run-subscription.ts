/**
 * Routes what one turn needs from the shared connection into its {@link RunInbox}: the `chat` and
 * `agent` events of its run, and the connection being lost, reopened or given up.
 */
import type { OpenClawWsConnection } from './connection.js';
import type { EventFrame } from './frames.js';
import type { RunInbox } from './run-inbox.js';

/**
 * Subscribes `inbox` to `connection`; `runId` is asked on every event, since OpenClaw may choose a
 * runId other than the one the turn started with. Returns the function that unsubscribes. @internal
 */
export function subscribeRun(
  connection: OpenClawWsConnection,
  inbox: RunInbox,
  runId: () => string,
): () => void {
  return connection.subscribe({
    onEvent: (frame) => {
      if ((frame.event === 'chat' || frame.event === 'agent') && runIdOf(frame) === runId()) {
        inbox.push({ kind: 'event', frame });
      }
    },
    onLost: () => {
      inbox.push({ kind: 'lost' });
    },
    onOpen: () => {
      inbox.push({ kind: 'reopened' });
    },
    onGaveUp: (error) => {
      inbox.push({ kind: 'gave-up', error });
    },
  });
}

function runIdOf(frame: EventFrame): string | undefined {
  const payload = frame.payload;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const runId = (payload as { runId?: unknown }).runId;
  return typeof runId === 'string' ? runId : undefined;
}
