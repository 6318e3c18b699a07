/**
 * {@link AgentTransport} over OpenClaw's WebSocket gateway protocol (shared/reference/openclaw-api.md
 * §5): per turn `chat.send` with our session key and the DingTalk msgId as `idempotencyKey`, the run's
 * `chat`/`agent` events mapped to text, tool, tool-result and thinking events, `chat.abort` when the
 * caller aborts, resume through `chat.history` after a reconnect (runs survive a dropped socket), the
 * run's artifacts downloaded after its final event; `sessions.reset` for a fresh session.
 */
import { setMaxListeners } from 'node:events';

import type { Logger } from 'pino';

import {
  describeCause,
  GatewayError,
  OpenClawRpcError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../../errors.js';
import type { AgentEvent, AgentTransport, AgentTurn, AgentTurnSummary } from '../agent-transport.js';
import { OpenClawTurnStreamError, TurnAbortedError } from '../chat-turn-errors.js';
import { abortable } from '../../util/abortable.js';
import { linkedSignal } from '../../util/linked-signal.js';
import { deliverArtifacts } from './artifact-delivery.js';
import { ArtifactFetcher } from './artifacts.js';
import { OpenClawWsConnection } from './connection.js';
import { DeviceIdentity } from './device-identity.js';
import { ChatAbortResult, ChatSendResult, SessionsResetResult } from './frames.js';
import { ADMIN_SCOPE, BASE_SCOPES, TOOL_EVENTS_CAP } from './handshake.js';
import { RunInbox } from './run-inbox.js';
import { RunTracker, type RunOutcome } from './run-events.js';
import { resumeRun } from './run-resume.js';
import { RunEventRouter, type RunRoute } from './run-subscription.js';
import { chatSendInput, qualifiedSessionKey } from './turn-input.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type WsAgentTransportOptions } from './ws-transport-options.js';

export { DEFAULT_REQUEST_TIMEOUT_MS } from './ws-transport-options.js';
export type { WsAgentTransportOptions } from './ws-transport-options.js';

/** How long a best-effort `chat.abort` may take (the turn is over for the caller already). */
const ABORT_TIMEOUT_MS = 5_000;
/** Shown in OpenClaw's transcripts as the client. */
const DISPLAY_NAME = 'openclaw-dingtalk-gateway';

/** What the `finally` of one turn needs to know about its run. */
interface TurnProgress {
  /** The run's id: the idempotencyKey, until OpenClaw accepts the send under another one. */
  runId: string;
  /** Whether OpenClaw may be running this turn's run (so stopping early must abort it). */
  mayBeRunning: boolean;
  tracker: RunTracker | undefined;
}

/**
 * The WebSocket transport. One long-lived connection serves every turn; it connects on the first
 * turn (or reset) and reconnects by itself. `run` throws {@link OpenClawUnavailableError} (cannot
 * connect; retrying is safe, the idempotencyKey deduplicates), `OpenClawAuthError` (refused
 * credentials or a device waiting for pairing approval), {@link OpenClawRpcError} (the gateway
 * refused the request), {@link OpenClawTurnStreamError} (the run failed or was aborted by someone
 * else), {@link OpenClawTimeoutError} or {@link TurnAbortedError}.
 */
export class WsAgentTransport implements AgentTransport {
  readonly kind = 'ws';
  readonly takesFileAttachments = true;
  readonly connection: OpenClawWsConnection;
  readonly #options: WsAgentTransportOptions;
  readonly #artifacts: ArtifactFetcher;
  readonly #runs: RunEventRouter;
  readonly #log: Logger | undefined;
  readonly #closing = new AbortController();
  #protocolWarningCount = 0;
  #closed: Promise<void> | undefined;

  constructor(options: WsAgentTransportOptions) {
    this.#options = options;
    this.#log = options.logger;
    // One listener per turn in flight (removed when it ends): many at once is the expected state.
    setMaxListeners(0, this.#closing.signal);
    const scopes: string[] = [...BASE_SCOPES];
    if (options.requestAdminScope ?? true) scopes.push(ADMIN_SCOPE);
    this.connection = new OpenClawWsConnection({
      url: options.url,
      token: options.token === '' ? undefined : options.token,
      scopes,
      caps: [TOOL_EVENTS_CAP],
      client: { version: options.clientVersion, displayName: DISPLAY_NAME, platform: process.platform },
      device:
        options.deviceIdentityFile === undefined
          ? undefined
          : DeviceIdentity.loadOrCreate(options.deviceIdentityFile),
      headers: options.headers,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      reconnectPolicy: options.reconnectPolicy,
      logger: options.logger,
      random: options.random,
    });
    this.#runs = new RunEventRouter(this.connection);
    this.#artifacts = new ArtifactFetcher({
      httpBaseUrl: options.httpBaseUrl,
      maxBytes: options.maxArtifactBytes,
      timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }

  /** Events skipped because they could not be used. */
  get protocolWarningCount(): number {
    return this.#protocolWarningCount;
  }

  async *run(turn: AgentTurn): AsyncGenerator<AgentEvent, AgentTurnSummary> {
    if (this.#closing.signal.aborted)
      throw new TurnAbortedError(new Error('the OpenClaw transport is closed'));
    if (turn.signal.aborted) throw new TurnAbortedError(turn.signal.reason);
    const timeoutMs = this.#options.timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(new OpenClawTimeoutError(timeoutMs));
    }, timeoutMs);
    const linked = linkedSignal([turn.signal, deadline.signal, this.#closing.signal]);
    const stop = linked.signal;
    const sessionKey = qualifiedSessionKey(turn.sessionKey, turn.agentId);
    const inbox = new RunInbox();
    const progress: TurnProgress = { runId: turn.idempotencyKey, mayBeRunning: false, tracker: undefined };
    let route: RunRoute | undefined;
    const log = this.#log?.child({ sessionKey, runId: progress.runId });
    try {
      await abortable(this.connection.ready(), stop);
      // Subscribed before chat.send: events of the run may arrive before its answer.
      route = this.#runs.add(progress.runId, inbox);
      const accepted = await this.#startRun(turn, progress, stop, log);
      route.rename(progress.runId);
      const run = new RunTracker(progress.runId);
      progress.tracker = run;
      log?.debug({ status: accepted.status }, 'chat.send accepted');
      // `in_flight` / `ok`: an earlier send of this message started the run; catch up from history.
      if (accepted.status !== 'started') yield* await this.#resume(run, sessionKey, stop);
      while (run.outcome === undefined) {
        const item = await inbox.next(stop);
        if (item.kind === 'event') yield* run.accept(item.frame);
        else if (item.kind === 'reopened') yield* await this.#resume(run, sessionKey, stop);
        else if (item.kind === 'gave-up') throw item.error;
        this.#drainWarnings(run, log);
      }
      this.#drainWarnings(run, log);
      const outcome: RunOutcome = run.outcome;
      if (outcome.kind !== 'final') throw outcomeFailure(outcome, run.text.length);
      yield* deliverArtifacts(run, {
        fetcher: this.#artifacts,
        connection: this.connection,
        sessionKey,
        stop,
        isTurnOver: () => turn.signal.aborted || this.#closing.signal.aborted,
        log,
      });
      return { finishReason: outcome.stopReason };
    } catch (error) {
      throw this.#turnError(error, turn, deadline.signal);
    } finally {
      clearTimeout(timer);
      route?.close();
      // The caller stopped early (abort, deadline, consumer gone): stop the run in OpenClaw too.
      if (progress.mayBeRunning && progress.tracker?.outcome === undefined)
        await this.#abortRun(sessionKey, progress.runId, log);
      linked.dispose();
    }
  }

  async resetSession(sessionKey: string, agentId: string): Promise<boolean> {
    await this.connection.ready();
    if (!this.connection.grantedScopes.includes(ADMIN_SCOPE)) {
      this.#log?.warn('sessions.reset needs operator.admin, which this connection was not granted');
      return false;
    }
    try {
      await this.connection.request(
        'sessions.reset',
        { key: qualifiedSessionKey(sessionKey, agentId), reason: 'reset' },
        SessionsResetResult,
      );
      return true;
    } catch (error) {
      if (error instanceof OpenClawRpcError && error.rpcCode === 'FORBIDDEN') {
        this.#log?.warn({ err: error }, 'OpenClaw refused sessions.reset');
        return false;
      }
      throw error;
    }
  }

  /** Ends every running turn ({@link TurnAbortedError}), closes the socket and the download client. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new Error('the OpenClaw transport is closing'));
      await this.connection.close();
      await this.#artifacts.close();
    })();
    return this.#closed;
  }

  /** Sends the turn with `chat.send`; `progress.runId` becomes the runId OpenClaw accepted. */
  async #startRun(
    turn: AgentTurn,
    progress: TurnProgress,
    stop: AbortSignal,
    log: Logger | undefined,
  ): Promise<ChatSendResult> {
    const input = chatSendInput(turn, this.connection.attachmentLimits);
    if (input.droppedSystemMessages > 0) {
      log?.debug(
        { count: input.droppedSystemMessages },
        'system messages not sent (chat.send has no system prompt)',
      );
    }
    if (input.droppedAttachments.length > 0) {
      log?.warn({ attachments: input.droppedAttachments }, 'attachments over the gateway limits left out');
    }
    progress.mayBeRunning = true;
    let accepted: ChatSendResult;
    try {
      accepted = await this.#send(input.params, stop);
    } catch (error) {
      // Refused: no run was started. Connection lost: the run may go on, and a retry of this turn
      // (same idempotencyKey) adopts it, so it must not be aborted. Only our own stop aborts it.
      if (!stop.aborted) progress.mayBeRunning = false;
      throw error;
    }
    if (accepted.runId !== progress.runId) {
      log?.debug({ acceptedRunId: accepted.runId }, 'OpenClaw chose a runId other than the idempotencyKey');
      progress.runId = accepted.runId;
    }
    return accepted;
  }

  async #send(params: Record<string, unknown>, stop: AbortSignal): Promise<ChatSendResult> {
    try {
      return await this.connection.request('chat.send', params, ChatSendResult, { signal: stop });
    } catch (error) {
      // OpenClaw asked us to come back later (e.g. while starting): as safe to retry as a refused connect.
      if (error instanceof OpenClawRpcError && error.retryable) throw new OpenClawUnavailableError(error);
      throw error;
    }
  }

  #resume(run: RunTracker, sessionKey: string, stop: AbortSignal): Promise<AgentEvent[]> {
    return resumeRun(run, {
      connection: this.connection,
      sessionKey,
      stop,
      requestTimeoutMs: this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }

  async #abortRun(sessionKey: string, runId: string, log: Logger | undefined): Promise<void> {
    if (this.connection.state !== 'open') {
      log?.warn('turn stopped while OpenClaw was unreachable; its run was not aborted');
      return;
    }
    try {
      const result = await this.connection.request('chat.abort', { sessionKey, runId }, ChatAbortResult, {
        timeoutMs: ABORT_TIMEOUT_MS,
      });
      log?.info({ aborted: result.aborted }, 'OpenClaw run aborted');
    } catch (error) {
      log?.warn({ err: error }, 'chat.abort failed');
    }
  }

  #drainWarnings(run: RunTracker, log: Logger | undefined): void {
    for (const warning of run.warnings.splice(0)) {
      this.#protocolWarningCount += 1;
      log?.warn({ reason: warning.reason, detail: warning.detail }, 'unusable OpenClaw event skipped');
      this.#options.onProtocolWarning?.(warning);
    }
  }

  #turnError(error: unknown, turn: AgentTurn, deadline: AbortSignal): Error {
    if (turn.signal.aborted) return new TurnAbortedError(turn.signal.reason);
    if (this.#closing.signal.aborted) return new TurnAbortedError(this.#closing.signal.reason);
    if (deadline.aborted) return new OpenClawTimeoutError(this.#options.timeoutMs);
    if (error instanceof GatewayError || error instanceof TurnAbortedError) return error;
    return new OpenClawTurnStreamError(
      `OpenClaw turn failed: ${describeCause(error)}`,
      {
        kind: 'incomplete',
        partialTextChars: 0,
      },
      { cause: error },
    );
  }
}

/** The error ending a turn whose run failed or was aborted. */
function outcomeFailure(
  outcome: Exclude<RunOutcome, { readonly kind: 'final' }>,
  partialTextChars: number,
): OpenClawTurnStreamError {
  if (outcome.kind === 'error') {
    return new OpenClawTurnStreamError(`OpenClaw run failed: ${outcome.message}`, {
      kind: 'error-event',
      partialTextChars,
    });
  }
  return new OpenClawTurnStreamError(
    `OpenClaw run was aborted (${outcome.stopReason ?? 'no reason given'})`,
    {
      kind: 'incomplete',
      partialTextChars,
    },
  );
}
