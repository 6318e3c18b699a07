// One HTTP request whose answer is read as it arrives (an SSE stream), through undici's dispatch:
// no response stream and no abort controller per request. The body is an async iterable of
// chunks with backpressure: past a high-water mark of unread bytes the connection is paused.
import type { IncomingHttpHeaders } from 'node:http';

import type { Dispatcher } from 'undici';

/** Unread bytes at which reading from the connection pauses, and below which it resumes. */
const PAUSE_AT_BYTES = 64 * 1024;

/** The head of the answer. */
export interface StreamedAnswerHead {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * A request sent at construction. {@link head} settles with the answer's status and headers (or
 * undici's error when none came); iterating the request yields the body's chunks, then fails with
 * the error that cut it, if any. {@link abort} ends it at any time.
 */
export class StreamedExchange implements AsyncIterableIterator<Buffer> {
  readonly head: Promise<StreamedAnswerHead>;
  readonly #chunks: Buffer[] = [];
  #unreadBytes = 0;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #isEnded = false;
  #hasAnswerBegun = false;
  #error: Error | undefined;
  #reader: { resolve: (result: IteratorResult<Buffer>) => void; reject: (error: Error) => void } | undefined;
  #settleHead: { resolve: (head: StreamedAnswerHead) => void; reject: (error: Error) => void } | undefined;

  constructor(dispatcher: Dispatcher, request: Dispatcher.DispatchOptions) {
    this.head = new Promise((resolve, reject) => (this.#settleHead = { resolve, reject }));
    // Nobody may be waiting for the head when the request fails after `abort()`.
    this.head.catch(() => undefined);
    try {
      dispatcher.dispatch(request, this.#handler());
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Some answer came, an informational one included: the request reached the server. */
  get hasAnswerBegun(): boolean {
    return this.#hasAnswerBegun;
  }

  /** Ends the request (a no-op once it is over); the head or the next read fails with `reason`. */
  abort(reason: Error): void {
    if (this.#abortReason !== undefined || this.#isEnded || this.#error !== undefined) return;
    this.#abortReason = reason;
    if (this.#controller === undefined) this.#fail(reason);
    else this.#controller.abort(reason);
  }

  /** Same as {@link abort}: what a stream consumer calls to drop a body it does not want. */
  destroy(): void {
    this.abort(new Error('answer body dropped'));
  }

  /** Errors reach the reader through `next()`; nothing is emitted, so there is nothing to listen for. */
  on(_event: 'error', _listener: (error: unknown) => void): this {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#unreadBytes -= chunk.length;
      if (this.#controller?.paused === true && this.#unreadBytes < PAUSE_AT_BYTES) this.#controller.resume();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#isEnded) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  /** Called when a `for await` loop over the body stops early: drops the rest. */
  return(): Promise<IteratorResult<Buffer>> {
    this.destroy();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #handler(): Dispatcher.DispatchHandler {
    return {
      onRequestStart: (controller) => {
        this.#controller = controller;
        if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
      },
      onResponseStart: (_controller, statusCode, headers) => {
        this.#hasAnswerBegun = true;
        if (statusCode < 200) return; // an informational answer; the real one follows
        this.#settleHead?.resolve({ statusCode, headers });
        this.#settleHead = undefined;
      },
      onResponseData: (controller, chunk) => {
        const reader = this.#reader;
        if (reader !== undefined) {
          this.#reader = undefined;
          reader.resolve({ done: false, value: chunk });
          return;
        }
        this.#chunks.push(chunk);
        this.#unreadBytes += chunk.length;
        if (this.#unreadBytes >= PAUSE_AT_BYTES) controller.pause();
      },
      onResponseEnd: () => {
        this.#isEnded = true;
        const reader = this.#reader;
        this.#reader = undefined;
        reader?.resolve({ done: true, value: undefined });
      },
      onResponseError: (_controller, error) => this.#fail(error),
    };
  }

  #fail(error: Error): void {
    if (this.#isEnded || this.#error !== undefined) return;
    this.#error = error;
    this.#settleHead?.reject(error);
    this.#settleHead = undefined;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
  }
}
