/**
 * Routes what the turns in flight need from the shared connection into their {@link RunInbox}: the
 * `chat` and `agent` events of each one's run, and the connection being lost, reopened or given up.
 */
import type { OpenClawWsConnection } from './connection.js';
import type { EventFrame } from './frames.js';
import type { RunInbox, RunInboxItem } from './run-inbox.js';

/** One turn's place in a {@link RunEventRouter}. */
export interface RunRoute {
  /** OpenClaw accepted the run under another runId: route that one's events from now on. */
  rename(runId: string): void;
  /** The turn is over: route nothing more to its inbox. */
  close(): void;
}

/**
 * One listener on the connection for all turns: a run event goes to the inboxes of its runId (a map
 * lookup, however many turns are in flight), a connection change to every inbox. @internal
 */
export class RunEventRouter {
  readonly #byRunId = new Map<string, Set<RunInbox>>();
  readonly #inboxes = new Set<RunInbox>();

  constructor(connection: Pick<OpenClawWsConnection, 'subscribe'>) {
    connection.subscribe({
      onEvent: (frame) => {
        if (frame.event !== 'chat' && frame.event !== 'agent') return;
        const runId = runIdOf(frame);
        if (runId === undefined) return;
        for (const inbox of this.#byRunId.get(runId) ?? []) inbox.push({ kind: 'event', frame });
      },
      onLost: () => {
        this.#pushToAll({ kind: 'lost' });
      },
      onOpen: () => {
        this.#pushToAll({ kind: 'reopened' });
      },
      onGaveUp: (error) => {
        this.#pushToAll({ kind: 'gave-up', error });
      },
    });
  }

  /** Turns with a route open (for tests and diagnostics). */
  get size(): number {
    return this.#inboxes.size;
  }

  /** Routes the events of `runId` (and every connection change) to `inbox` until the route is closed. */
  add(runId: string, inbox: RunInbox): RunRoute {
    let current = runId;
    this.#inboxes.add(inbox);
    this.#link(current, inbox);
    return {
      rename: (next) => {
        this.#unlink(current, inbox);
        current = next;
        this.#link(current, inbox);
      },
      close: () => {
        this.#unlink(current, inbox);
        this.#inboxes.delete(inbox);
      },
    };
  }

  #link(runId: string, inbox: RunInbox): void {
    const inboxes = this.#byRunId.get(runId);
    if (inboxes === undefined) this.#byRunId.set(runId, new Set([inbox]));
    else inboxes.add(inbox);
  }

  #unlink(runId: string, inbox: RunInbox): void {
    const inboxes = this.#byRunId.get(runId);
    inboxes?.delete(inbox);
    if (inboxes?.size === 0) this.#byRunId.delete(runId);
  }

  #pushToAll(item: RunInboxItem): void {
    for (const inbox of this.#inboxes) inbox.push(item);
  }
}

function runIdOf(frame: EventFrame): string | undefined {
  const payload = frame.payload;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const runId = (payload as { runId?: unknown }).runId;
  return typeof runId === 'string' ? runId : undefined;
}
