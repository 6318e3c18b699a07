/**
 * A scriptable stand-in for OpenClaw's gateway HTTP surface on 127.0.0.1 (port 0), speaking the same
 * `POST /v1/chat/completions` dialect as the real gateway (shared/reference/openclaw-api.md §1.0, §1.1):
 * bearer auth, `model` and session-key validation, SSE chunk layout, `{"error":{…}}` bodies.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the fake answers to one chat request. */
export type FakeOpenClawReply =
  | {
      kind: 'stream';
      /** Content deltas, one SSE chunk each, after the role chunk. */
      chunks: string[];
      /** Pause before each content chunk. @defaultValue 0 */
      chunkDelayMs?: number;
      /** Sent after the chunks as `data: {"error":…}`, followed by `[DONE]` (as the real gateway fails). */
      error?: { message: string; type?: string };
      /** Destroy the socket after this many content chunks, without finish chunk or `[DONE]`. */
      cutAfterChunks?: number;
      /** Write every SSE event in several TCP writes, split inside lines and UTF-8 characters. */
      splitWrites?: boolean;
    }
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  /** `keepOpen`: write the body but never end the response (a server that lingers after `[DONE]`). */
  | { kind: 'raw'; status: number; contentType: string; body: string; keepOpen?: boolean }
  /** Accept the request and never answer, until the client disconnects. */
  | { kind: 'hang' }
  /** Destroy the socket before any response byte. */
  | { kind: 'destroy' };

/** One request to `POST /v1/chat/completions`, as received. */
export interface RecordedChatRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or `undefined` when it was not JSON. */
  readonly body: unknown;
  readonly sessionKey: string | undefined;
  /** Text of the last `user` message (text parts joined with `\n`); `''` when there is none. */
  readonly lastUserText: string;
  readonly receivedAtMs: number;
  /** The connection closed before the response finished (client disconnect, or a scripted cut). */
  aborted: boolean;
}

/** Options of {@link FakeOpenClaw.start}. */
export interface FakeOpenClawOptions {
  /** Expected bearer token; `null` disables auth (gateway auth mode `none`). @defaultValue `'test-openclaw-token'` */
  readonly token?: string | null;
  /**
   * Called once per recorded chat request when its response is over: all bytes handed to the socket, or
   * the connection closed early (`request.aborted` is then true). For timing probes (bench/); off when unset.
   */
  readonly onResponseEnd?: ((request: RecordedChatRequest) => void) | undefined;
  /** How long an idle keep-alive connection stays open (Node's own default is 5_000). @defaultValue 1_000 */
  readonly keepAliveTimeoutMs?: number | undefined;
}

type Handler = (request: RecordedChatRequest) => FakeOpenClawReply | Promise<FakeOpenClawReply>;

/** The token {@link FakeOpenClaw.start} expects unless told otherwise. */
export const FAKE_OPENCLAW_TOKEN = 'test-openclaw-token';

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const SPLIT_WRITE_DELAY_MS = 3;
const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
const MODEL_PATTERN = /^(?:openclaw|openclaw\/[^/\s]+|openclaw:[^\s]+|agent:[^\s]+)$/;
const RESERVED_SESSION_PREFIXES = ['subagent:', 'cron:', 'acp:'];

/** Scriptable fake OpenClaw gateway. Close it in `afterEach`. */
export class FakeOpenClaw {
  /** `http://127.0.0.1:<port>`, without trailing slash. */
  readonly baseUrl: string;
  /** Every chat request received, in arrival order (including rejected ones). */
  readonly requests: RecordedChatRequest[] = [];
  readonly #server: Server;
  readonly #token: string | null;
  readonly #onResponseEnd: ((request: RecordedChatRequest) => void) | undefined;
  readonly #queue: FakeOpenClawReply[] = [];
  readonly #closing = new AbortController();
  #handler: Handler = (request) => ({
    kind: 'stream',
    chunks: splitInThree(`echo: ${request.lastUserText}`),
  });
  #waiters: (() => void)[] = [];
  #closed: Promise<void> | undefined;

  private constructor(
    server: Server,
    token: string | null,
    onResponseEnd: ((request: RecordedChatRequest) => void) | undefined,
  ) {
    this.#server = server;
    this.#token = token;
    this.#onResponseEnd = onResponseEnd;
    const address = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${address.port}`;
  }

  /** Starts a fake listening on a free loopback port. */
  static async start(options: FakeOpenClawOptions = {}): Promise<FakeOpenClaw> {
    const server = createServer();
    server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeOpenClaw(
      server,
      options.token === undefined ? FAKE_OPENCLAW_TOKEN : options.token,
      options.onResponseEnd,
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.#route(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          sendError(res, 500, error instanceof Error ? error.message : 'fake failure', 'api_error');
        else res.destroy();
      });
    });
    return fake;
  }

  /** Decides the reply per request when the queue is empty. Default: echo the last user text in 3 chunks. */
  setHandler(handler: Handler): void {
    this.#handler = handler;
  }

  /** Replies used first, in order, one per valid request, before the handler. */
  enqueueReplies(...replies: FakeOpenClawReply[]): void {
    this.#queue.push(...replies);
  }

  /** Resolves with all requests once at least `count` arrived; rejects after `timeoutMs`. */
  async waitForRequests(count: number, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<RecordedChatRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        throw new Error(
          `FakeOpenClaw: expected ${count} requests, got ${this.requests.length} in ${timeoutMs} ms`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remainingMs);
        const waiters = this.#waiters;
        function done(): void {
          clearTimeout(timer);
          const index = waiters.indexOf(done);
          if (index !== -1) waiters.splice(index, 1);
          resolve();
        }
        waiters.push(done);
      });
    }
    return [...this.requests];
  }

  /** Number of TCP connections currently open to the fake (to prove a client released its sockets). */
  openConnections(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.getConnections((error, count) => {
        if (error) reject(error);
        else resolve(count);
      });
    });
  }

  /** Stops listening and destroys every connection, including hanging and streaming ones. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#closing.abort();
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/health' || path === '/healthz')) {
      sendJson(res, 200, { ok: true, status: 'live' });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      sendError(res, 404, 'Not Found', 'not_found');
      return;
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === undefined) {
      sendError(res, 413, 'Payload Too Large', 'invalid_request_error');
      return;
    }
    const body = parseJson(raw);
    const recorded: RecordedChatRequest = {
      headers: { ...req.headers },
      body,
      sessionKey: headerValue(req.headers['x-openclaw-session-key']),
      lastUserText: lastUserText(body),
      receivedAtMs: Date.now(),
      aborted: false,
    };
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true;
      this.#onResponseEnd?.(recorded);
    });
    this.requests.push(recorded);
    for (const wake of [...this.#waiters]) wake();

    if (this.#token !== null && req.headers.authorization !== `Bearer ${this.#token}`) {
      sendError(res, 401, 'Unauthorized', 'unauthorized');
      return;
    }
    const problem = validate(body, recorded.sessionKey);
    if (problem !== undefined) {
      sendError(res, 400, problem, 'invalid_request_error');
      return;
    }
    const reply = this.#queue.shift() ?? (await this.#handler(recorded));
    await this.#reply(reply, body as ChatBody, res);
  }

  async #reply(reply: FakeOpenClawReply, body: ChatBody, res: ServerResponse): Promise<void> {
    switch (reply.kind) {
      case 'json':
        sendJson(res, reply.status, reply.body, reply.headers);
        return;
      case 'raw':
        res.writeHead(reply.status, { 'content-type': reply.contentType });
        if (reply.keepOpen === true) res.write(reply.body);
        else res.end(reply.body);
        return;
      case 'hang':
        return;
      case 'destroy':
        res.socket?.destroy();
        return;
      case 'stream':
        if (body.stream === true) await this.#stream(reply, body, res);
        else sendJson(res, 200, completion(body.model, reply.chunks.join('')));
        return;
    }
  }

  async #stream(
    reply: FakeOpenClawReply & { kind: 'stream' },
    body: ChatBody,
    res: ServerResponse,
  ): Promise<void> {
    const id = `chatcmpl_${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: object, finishReason: string | null): string =>
      event({
        id,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const write = async (text: string): Promise<boolean> =>
      this.#write(res, text, reply.splitWrites === true);
    if (!(await write(chunk({ role: 'assistant' }, null)))) return;
    for (const [index, content] of reply.chunks.entries()) {
      if (reply.cutAfterChunks !== undefined && index >= reply.cutAfterChunks) {
        res.socket?.destroy();
        return;
      }
      if (!(await this.#pause(reply.chunkDelayMs ?? 0))) return;
      if (!(await write(chunk({ content }, null)))) return;
    }
    if (reply.cutAfterChunks !== undefined) {
      res.socket?.destroy();
      return;
    }
    if (reply.error === undefined) {
      if (!(await write(chunk({}, 'stop')))) return;
      const usage = {
        prompt_tokens: 10,
        completion_tokens: reply.chunks.length,
        total_tokens: 10 + reply.chunks.length,
      };
      if (body.stream_options?.include_usage === true) {
        if (
          !(await write(
            event({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage }),
          ))
        )
          return;
      }
    } else if (!(await write(event({ error: { type: 'api_error', ...reply.error } })))) {
      return;
    }
    if (!(await write('data: [DONE]\n\n'))) return;
    res.end();
  }

  /** Writes one SSE event, optionally in three pieces cut at byte positions; false once the peer left. */
  async #write(res: ServerResponse, text: string, shouldSplit: boolean): Promise<boolean> {
    if (res.destroyed) return false;
    const bytes = Buffer.from(text, 'utf8');
    if (!shouldSplit || bytes.length < 3) return writeFlushed(res, bytes);
    const cuts = [0, Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3) + 1, bytes.length];
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      if (i > 0 && !(await this.#pause(SPLIT_WRITE_DELAY_MS))) return false;
      if (!(await writeFlushed(res, bytes.subarray(cuts[i], cuts[i + 1])))) return false;
    }
    return true;
  }

  /** Sleeps unless the fake is closing; false when it is. */
  async #pause(delayMs: number): Promise<boolean> {
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: this.#closing.signal });
      } catch {
        return false;
      }
    }
    return !this.#closing.signal.aborted;
  }
}

interface ChatBody {
  model: string;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
}

/** Mirrors the real gateway's 400s; returns the error message, or undefined when the body is usable. */
function validate(body: unknown, sessionKey: string | undefined): string | undefined {
  if (!isRecord(body)) return 'Invalid JSON body.';
  if (typeof body['model'] !== 'string' || !MODEL_PATTERN.test(body['model'])) {
    return 'Invalid `model`. Use `openclaw` or `openclaw/<agentId>`.';
  }
  if (
    sessionKey !== undefined &&
    RESERVED_SESSION_PREFIXES.some((prefix) => sessionKey.toLowerCase().startsWith(prefix))
  ) {
    return '`x-openclaw-session-key` cannot use reserved internal session namespaces.';
  }
  if (
    !Array.isArray(body['messages']) ||
    !body['messages'].some((m) => isRecord(m) && m['role'] === 'user')
  ) {
    return 'Missing user message in `messages`.';
  }
  return undefined;
}

function lastUserText(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body['messages'])) return '';
  const users = body['messages'].filter(
    (m): m is Record<string, unknown> => isRecord(m) && m['role'] === 'user',
  );
  const content = users.at(-1)?.['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (part): part is { type: 'text'; text: string } =>
        isRecord(part) && part['type'] === 'text' && typeof part['text'] === 'string',
    )
    .map((part) => part.text)
    .join('\n');
}

function completion(model: string, content: string): object {
  return {
    id: `chatcmpl_${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

/** Splits text into three pieces at grapheme boundaries (some may be empty for short text). */
export function splitInThree(text: string): string[] {
  const points = Array.from(
    new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text),
    (s) => s.segment,
  );
  const a = Math.ceil(points.length / 3);
  const b = Math.ceil((2 * points.length) / 3);
  return [points.slice(0, a).join(''), points.slice(a, b).join(''), points.slice(b).join('')];
}

function event(payload: object): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Writes and waits until the bytes reached the socket, so that a scripted cut right after loses nothing. */
function writeFlushed(res: ServerResponse, bytes: Uint8Array): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    res.write(bytes, (error) => {
      resolve(error == null);
    });
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type } });
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
