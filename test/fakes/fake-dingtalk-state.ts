/**
 * What the HTTP and Stream halves of the fake DingTalk share: tickets and session webhooks handed out,
 * timers that die with the fake, and the `waitFor` machinery re-checked whenever something is recorded.
 * Plus the small JSON helpers both halves use.
 */
import { randomBytes } from 'node:crypto';

import { sessionIdFromWebhook, type BotMessageData } from './bot-message-factory.js';
import type { ResolvedFakeDingTalkOptions, StreamSubscription } from './fake-dingtalk-types.js';

/** A ticket handed out by connections/open; single use. @internal */
export interface TicketRecord {
  readonly ticket: string;
  readonly expiresAtMs: number;
  readonly subscriptions: readonly StreamSubscription[];
  readonly openRequestBody: unknown;
  isUsed: boolean;
}

/** A session webhook the fake knows. @internal */
export interface SessionRecord {
  expiresAtMs: number;
  conversationId: string | undefined;
  postTimesMs: number[];
}

/** A scripted failure for the next `remaining` calls. @internal */
export interface InjectedFailure {
  remaining: number;
  status: number;
  body: unknown;
}

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

/** Shared state of one fake; see the module comment. @internal */
export class FakeDingTalkState {
  readonly options: Readonly<ResolvedFakeDingTalkOptions>;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly baseUrl: string;
  readonly tickets = new Map<string, TicketRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<Waiter>();
  #isClosed = false;

  constructor(options: ResolvedFakeDingTalkOptions, baseUrl: string) {
    this.options = options;
    this.baseUrl = baseUrl;
  }

  /** The `endpoint` returned by connections/open. */
  get endpoint(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/connect`;
  }

  /** Makes `sessionId` known; later posts succeed until `expiresAtMs`. */
  registerSession(sessionId: string, expiresAtMs: number, conversationId?: string): void {
    this.sessions.set(sessionId, { expiresAtMs, conversationId, postTimesMs: [] });
  }

  /** Registers the session webhook of `data` when it points at this fake and is not known yet. */
  registerWebhookOf(data: BotMessageData): BotMessageData {
    const sessionId = sessionIdFromWebhook(data.sessionWebhook, this.baseUrl);
    if (sessionId !== undefined && !this.sessions.has(sessionId)) {
      this.registerSession(sessionId, data.sessionWebhookExpiredTime, data.conversationId);
    }
    return data;
  }

  /**
   * Resolves with the first non-`undefined` value of `probe`, re-evaluated on every {@link notify}.
   * Rejects after `timeoutMs`, or when the fake closes.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, description: () => string): Promise<T> {
    const first = probe();
    if (first !== undefined) return Promise.resolve(first);
    if (this.#isClosed)
      return Promise.reject(new Error(`FakeDingTalk closed while waiting for ${description()}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiter.fail(new Error(`FakeDingTalk: timed out after ${timeoutMs} ms waiting for ${description()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return;
          done();
          resolve(value);
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Re-checks every pending `waitFor`; call after recording anything. */
  notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  /** A timeout that {@link close} cancels. */
  setTimer(callback: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, delayMs);
    this.#timers.add(timer);
  }

  /** A promise that settles after `delayMs`, or never when the fake closes first (its socket dies anyway). */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(resolve, delayMs);
    });
  }

  /** Cancels every timer and fails every pending and later `waitFor`. */
  close(): void {
    this.#isClosed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of [...this.#waiters]) waiter.fail(new Error('FakeDingTalk closed while waiting'));
  }
}

/** @internal */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** @internal */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** @internal */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Request id in the style of DingTalk's `requestid` (uppercase hex). @internal */
export function newRequestId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}
