/**
 * The options, records and run scripts of the fake OpenClaw WebSocket gateway (its public types,
 * re-exported from `fake-openclaw-ws.ts`), plus the internal shapes and small JSON helpers its
 * parts share.
 */
import type WebSocket from 'ws';

/** The token {@link FakeOpenClawWs.start} expects unless told otherwise. */
export const FAKE_OPENCLAW_WS_TOKEN = 'test-openclaw-ws-token';
/** The agent of session keys sent without an `agent:` prefix. @internal */
export const DEFAULT_AGENT_ID = 'main';
/** `hello-ok.policy.tickIntervalMs` when not configured. @internal */
export const DEFAULT_TICK_INTERVAL_MS = 30_000;

/** A JSON object as the fake reads and writes it. @internal */
export type Json = Record<string, unknown>;

/** A tool call of a scripted run. */
export interface FakeToolStep {
  readonly name: string;
  readonly title?: string;
  readonly args?: Json;
  /** Text of the tool's result. */
  readonly result: string;
  readonly isError?: boolean;
}

/** What one `chat.send` run does, in this order: thinking, text before tools, tools, text. */
export interface FakeRunScript {
  /** Reasoning, sent as one `agent` `thinking` event. */
  readonly thinking?: string;
  /** Text streamed before the tool calls (OpenClaw keeps it in the reply). */
  readonly preamble?: string;
  readonly tools?: readonly FakeToolStep[];
  /** The answer, one `chat` delta per piece. @defaultValue `['fake answer']` */
  readonly chunks?: readonly string[];
  /** Pause before each piece (so a test can act mid-run). @defaultValue 0 */
  readonly chunkDelayMs?: number;
  /** End with this error (two `chat` `error` events, as the real gateway sends) instead of `final`. */
  readonly error?: string;
  /** Files the run produced (as from `MEDIA:` lines): listed and downloadable after the final event. */
  readonly media?: readonly {
    readonly fileName: string;
    readonly mimeType: string;
    readonly bytes: Buffer;
  }[];
  /** Never finish by itself (until aborted). */
  readonly hang?: boolean;
}

/** A `chat.send` as received. */
export interface FakeSend {
  readonly connectionId: string;
  readonly params: Json;
  /** The canonical (agent-qualified, lower-cased) session key. */
  readonly sessionKey: string;
  readonly message: string;
  readonly idempotencyKey: string;
  /** The answer's `status`: `started`, `in_flight` or `ok`. */
  readonly status: string;
}

/** A request as received (every method, `connect` included). */
export interface FakeRequest {
  readonly connectionId: string;
  readonly method: string;
  readonly params: Json;
  /** `Date.now()` on arrival. */
  readonly atMs: number;
}

/** Options of {@link FakeOpenClawWs.start}. */
export interface FakeOpenClawWsOptions {
  /** Expected shared token; `null` accepts any. @defaultValue {@link FAKE_OPENCLAW_WS_TOKEN} */
  readonly token?: string | null;
  /** `hello-ok.policy.tickIntervalMs`, and how often ticks are sent. @defaultValue 30_000 */
  readonly tickIntervalMs?: number;
  /**
   * `'remote'` treats every client as off loopback: no device proof → scopes cleared; an unpaired
   * device → `PAIRING_REQUIRED` until {@link FakeOpenClawWs.approvePairing}. @defaultValue `'loopback'`
   */
  readonly locality?: 'loopback' | 'remote';
  /** Refuse this many connects with `UNAVAILABLE` "gateway starting" (close 1013) first. @defaultValue 0 */
  readonly refuseStartingConnects?: number;
  /** Scopes granted whatever is requested (e.g. without `operator.admin`). @defaultValue the requested ones */
  readonly grantScopes?: readonly string[];
}

/** Decides how a new run behaves. @internal */
export type FakeSendHandler = (send: FakeSend) => FakeRunScript | Promise<FakeRunScript>;

/** One accepted socket. @internal */
export interface FakeWsConnection {
  readonly id: string;
  readonly socket: WebSocket;
  isAuthenticated: boolean;
  scopes: string[];
  caps: string[];
  seq: number;
  challenge: { nonce: string; ts: number };
}

/** One run; runs live in the fake, not in a connection. @internal */
export interface FakeRun {
  readonly runId: string;
  readonly sessionKey: string;
  readonly senderId: string;
  script: FakeRunScript;
  state: 'running' | 'final' | 'error' | 'aborted';
  text: string;
  seq: number;
  readonly startedAt: number;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  markDone: () => void;
}

/** A file a run produced. @internal */
export interface FakeArtifact {
  readonly id: string;
  readonly runId: string;
  readonly sessionKey: string;
  readonly fileName: string;
  readonly mimeType: string;
  readonly bytes: Buffer;
}

/** `value` if it is a string, else `''`. @internal */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** @internal */
export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `agent:<agentId>:<key>` lower-cased, as OpenClaw stores keys. @internal */
export function canonicalKey(key: string, agentId?: unknown): string {
  const qualified = key.startsWith('agent:')
    ? key
    : `agent:${typeof agentId === 'string' ? agentId : DEFAULT_AGENT_ID}:${key}`;
  return qualified.toLowerCase();
}
