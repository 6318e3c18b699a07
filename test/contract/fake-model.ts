/**
 * A fake OpenAI-compatible model server for the real OpenClaw gateway to call (the `fake` provider in
 * the contract peer's openclaw.json): `POST …/chat/completions` on 127.0.0.1, port 0.
 *
 * OpenClaw always asks with `stream: true`, so every answer is streamed as `chat.completion.chunk`
 * SSE lines, a finish chunk, a usage chunk and `data: [DONE]` (a non-streamed request gets one JSON
 * `chat.completion`). Every request is answered, including the ones OpenClaw makes on its own
 * (memory, skill review): tests must pick their requests by content, see {@link ModelRequest.turnText}.
 * By default the fake answers with text only, so OpenClaw's agent loop ends after one model call. A
 * script may return a {@link ModelReply} with `toolCalls`; it must then answer the follow-up request
 * (whose {@link ModelRequest.toolResults} is not empty) with text, or the agent loops forever
 * (shared/reference/openclaw-api.md §4.7).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The model id the fake announces; OpenClaw's config names it `fake/fake-model`. */
export const FAKE_MODEL_ID = 'fake-model';
/** A second model id served by the same fake, declared reasoning-capable in the peer's openclaw.json. */
export const FAKE_REASONING_MODEL_ID = 'fake-reasoning-model';

/** Marks the user message OpenClaw appends to every turn with its own bookkeeping. */
const INTERNAL_CONTEXT_MARK = '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>';
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** One upstream message, its content flattened to text (text parts joined with `\n`). */
export interface ModelMessage {
  readonly role: string;
  readonly text: string;
}

/** One request OpenClaw made, and what the fake answered. */
export interface ModelRequest {
  readonly method: string;
  readonly path: string;
  /** The parsed JSON body (`undefined` when it was not JSON). */
  readonly body: unknown;
  readonly stream: boolean;
  /** Every message of the request in order, system prompt included. */
  readonly messages: readonly ModelMessage[];
  /**
   * The newest user message that is not OpenClaw's internal-context block: the current turn as
   * OpenClaw shows it to the model (it prefixes a timestamp and may append a `Runtime:` line).
   */
  readonly turnText: string;
  /** Every non-system message before the current turn, joined: the conversation history sent. */
  readonly historyText: string;
  /** `tool` messages after the current turn: the results of tool calls this turn already made. */
  readonly toolResults: readonly ModelMessage[];
  readonly receivedAtMs: number;
  /** The text the fake answered with. */
  answer: string;
}

/** A tool call the fake asks the agent to make (an OpenAI `tool_calls` entry). */
export interface ModelToolCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

/** A scripted answer richer than plain text. */
export interface ModelReply {
  /** The answer text. @defaultValue '' */
  readonly text?: string;
  /** Streamed first as `reasoning_content` deltas. */
  readonly reasoning?: string;
  /** Tool calls, streamed after the text; the finish reason is then `tool_calls`. */
  readonly toolCalls?: readonly ModelToolCall[];
  /** How many deltas the text is cut into. @defaultValue 3 */
  readonly pieceCount?: number;
  /** Pause before each text delta, so a test can act while the run streams. @defaultValue 0 */
  readonly pieceDelayMs?: number;
  /** Answer with this HTTP status and an OpenAI error body instead of a completion. */
  readonly failStatus?: number;
}

/** Decides the answer to one request; `undefined` falls back to the default answer. */
export type ModelScript = (request: ModelRequest) => string | ModelReply | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : ''))
    .filter((text) => text !== '')
    .join('\n');
}

function messagesOf(body: unknown): ModelMessage[] {
  if (!isRecord(body) || !Array.isArray(body['messages'])) return [];
  return body['messages'].filter(isRecord).map((message) => ({
    role: typeof message['role'] === 'string' ? message['role'] : '',
    text: contentText(message['content']),
  }));
}

function isTurnMessage(message: ModelMessage): boolean {
  return message.role === 'user' && !message.text.startsWith(INTERNAL_CONTEXT_MARK);
}

function describeTurn(messages: readonly ModelMessage[]): {
  turnText: string;
  historyText: string;
  toolResults: ModelMessage[];
} {
  let turnIndex = -1;
  messages.forEach((message, index) => {
    if (isTurnMessage(message)) turnIndex = index;
  });
  if (turnIndex === -1) return { turnText: '', historyText: '', toolResults: [] };
  const history = messages
    .slice(0, turnIndex)
    .filter((message) => message.role !== 'system' && message.role !== 'developer');
  return {
    turnText: messages[turnIndex]?.text ?? '',
    historyText: history.map((message) => `${message.role}: ${message.text}`).join('\n'),
    toolResults: messages.slice(turnIndex + 1).filter((message) => message.role === 'tool'),
  };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Cuts `text` into up to `count` pieces so the answer arrives as several deltas. */
function pieces(text: string, count = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, count)));
  const result: string[] = [];
  for (let start = 0; start < text.length; start += size) result.push(text.slice(start, start + size));
  return result;
}

/** The scriptable fake model. Start with {@link FakeModel.start}; always `await close()`. */
export class FakeModel {
  /** `http://127.0.0.1:<port>/v1`: the provider `baseUrl` for OpenClaw. */
  readonly baseUrl: string;
  /** Every request, in arrival order. */
  readonly requests: ModelRequest[] = [];
  readonly #server: Server;
  #script: ModelScript | undefined;
  #closed: Promise<void> | undefined;

  private constructor(server: Server) {
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/v1`;
  }

  static async start(): Promise<FakeModel> {
    const server = createServer();
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const model = new FakeModel(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      model.#route(req, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { error: { message: String(error), type: 'server_error' } });
      });
    });
    return model;
  }

  /** Sets how requests are answered (`undefined`: the default, `fake answer #<n>`). */
  respond(script: ModelScript | undefined): void {
    this.#script = script;
  }

  /** Requests whose current turn contains `text` (the agent turns a test caused). */
  turnsMentioning(text: string): ModelRequest[] {
    return this.requests.filter((request) => request.turnText.includes(text));
  }

  /** One line per request (path, turn start, answer) for assertion messages. */
  summary(): string {
    return this.requests
      .map(
        (request, index) =>
          `#${index + 1} ${request.method} ${request.path} turn=${JSON.stringify(request.turnText.slice(0, 120))} answer=${JSON.stringify(request.answer)}`,
      )
      .join('\n');
  }

  /** Stops listening and drops every connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path.endsWith('/models')) {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: FAKE_MODEL_ID, object: 'model', owned_by: 'fake' }],
      });
      return;
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      sendJson(res, 404, { error: { message: `no route ${req.method ?? ''} ${path}`, type: 'not_found' } });
      return;
    }
    const raw = await readBody(req);
    if (raw === undefined) {
      sendJson(res, 413, { error: { message: 'request too large', type: 'invalid_request_error' } });
      return;
    }
    const body = parseJson(raw);
    const messages = messagesOf(body);
    const request: ModelRequest = {
      method: req.method,
      path,
      body,
      stream: isRecord(body) && body['stream'] === true,
      messages,
      ...describeTurn(messages),
      receivedAtMs: Date.now(),
      answer: '',
    };
    this.requests.push(request);
    const scripted = this.#script?.(request) ?? `fake answer #${this.requests.length}`;
    const reply: ModelReply = typeof scripted === 'string' ? { text: scripted } : scripted;
    request.answer = reply.text ?? '';
    if (reply.failStatus !== undefined) {
      sendJson(res, reply.failStatus, { error: { message: 'fake model failure', type: 'server_error' } });
      return;
    }
    if (request.stream) await this.#stream(res, reply, body);
    else this.#complete(res, request.answer);
  }

  async #stream(res: ServerResponse, reply: ModelReply, body: unknown): Promise<void> {
    const answer = reply.text ?? '';
    const id = `chatcmpl-fake-${this.requests.length}`;
    const base = {
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: FAKE_MODEL_ID,
    };
    const chunk = (delta: object, finishReason: string | null): object => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    const toolCalls = reply.toolCalls ?? [];
    const head: object[] = [chunk({ role: 'assistant', content: '' }, null)];
    if (reply.reasoning !== undefined) {
      head.push(...pieces(reply.reasoning, 2).map((piece) => chunk({ reasoning_content: piece }, null)));
    }
    const textEvents =
      answer === '' ? [] : pieces(answer, reply.pieceCount).map((piece) => chunk({ content: piece }, null));
    const events: object[] = [
      ...toolCalls.map((call, index) =>
        chunk(
          {
            tool_calls: [
              {
                index,
                id: `call_fake_${this.requests.length}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: JSON.stringify(call.arguments) },
              },
            ],
          },
          null,
        ),
      ),
      chunk({}, toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    ];
    const options = isRecord(body) ? body['stream_options'] : undefined;
    if (isRecord(options) && options['include_usage'] === true) {
      const completion = Math.ceil(answer.length / 4);
      events.push({
        ...base,
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion },
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const event of head) res.write(`data: ${JSON.stringify(event)}\n\n`);
    for (const event of textEvents) {
      if (reply.pieceDelayMs !== undefined && reply.pieceDelayMs > 0) {
        await sleep(reply.pieceDelayMs);
        // OpenClaw closed the request (the run was aborted): stop streaming.
        if (res.destroyed || res.writableEnded) return;
      }
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    }
    for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  #complete(res: ServerResponse, answer: string): void {
    sendJson(res, 200, {
      id: `chatcmpl-fake-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: FAKE_MODEL_ID,
      choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  }
}
