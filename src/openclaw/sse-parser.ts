/**
 * Incremental Server-Sent Events parser following the WHATWG "event stream interpretation" rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * Pure: no I/O, no timers. Feed it chunks as they arrive; it returns the events each chunk completed.
 */

/** Longest line (and longest accumulated event data) the parser buffers, in UTF-16 code units. */
export const MAX_SSE_LINE_CHARS = 8 * 1024 * 1024;

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, or `'message'` when the event had none. */
  readonly type: string;
  /** The `data:` lines joined with `\n` (never ends with the separator). */
  readonly data: string;
  /** The last `id:` seen on this stream so far (persists across events, like `EventSource`). */
  readonly lastEventId: string;
}

/** Options of {@link SseParser}. */
export interface SseParserOptions {
  /**
   * Bound on buffered text: one line without its terminator, and the data of one event.
   * @defaultValue {@link MAX_SSE_LINE_CHARS}
   */
  readonly maxLineChars?: number | undefined;
}

/** The peer sent a line or an event larger than {@link SseParserOptions.maxLineChars}. */
export class SseLineTooLongError extends Error {
  readonly maxLineChars: number;

  constructor(maxLineChars: number) {
    super(`SSE line or event exceeds ${maxLineChars} characters`);
    this.name = new.target.name;
    this.maxLineChars = maxLineChars;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = '\uFEFF';

/**
 * Streaming SSE parser. Accepts bytes (decoded as UTF-8 with a streaming decoder, so a chunk may end
 * inside a multi-byte character) or already decoded strings; do not interleave the two inside one
 * character. Lines end with `\n`, `\r\n` or `\r`, and a `\r\n` pair may be split across chunks.
 *
 * {@link SseParser.push} and {@link SseParser.end} throw {@link SseLineTooLongError} when the bound is
 * exceeded; the parser must not be used after it threw.
 */
export class SseParser {
  readonly #maxLineChars: number;
  readonly #decoder = new TextDecoder('utf-8');
  #partialLine = '';
  #isAfterCr = false;
  #isAtStart = true;
  #data = '';
  #hasData = false;
  #eventType = '';
  #lastEventIdBuffer = '';
  #lastEventId = '';
  #retryMs: number | undefined;

  constructor(options: SseParserOptions = {}) {
    this.#maxLineChars = options.maxLineChars ?? MAX_SSE_LINE_CHARS;
  }

  /** The last valid `retry:` value, in ms; `undefined` until the stream sent one. */
  get retryMs(): number | undefined {
    return this.#retryMs;
  }

  /** Parses one chunk and returns the events it completed, in order. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    this.#processText(text, events);
    return events;
  }

  /**
   * Ends the stream: flushes the decoder and returns the remaining events.
   *
   * Deliberately more lenient than the spec, which discards an event not followed by a blank line:
   * a final line without terminator counts as terminated, and a pending event is dispatched. A server
   * that closes right after `data: [DONE]` without the blank line still delivers its last event.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.#processText(this.#decoder.decode(), events);
    if (this.#partialLine.length > 0) {
      const line = this.#partialLine;
      this.#partialLine = '';
      this.#processLine(line, events);
    }
    this.#dispatch(events);
    return events;
  }

  #processText(input: string, events: SseEvent[]): void {
    if (input.length === 0) return;
    let text = input;
    if (this.#isAtStart) {
      this.#isAtStart = false;
      // The byte path's TextDecoder already drops a BOM; this covers string input.
      if (text.startsWith(BOM)) text = text.slice(1);
    }
    let position = 0;
    if (this.#isAfterCr) {
      this.#isAfterCr = false;
      if (text.charCodeAt(0) === LF) position = 1;
    }
    const terminator = /[\r\n]/g;
    terminator.lastIndex = position;
    for (let match = terminator.exec(text); match !== null; match = terminator.exec(text)) {
      const lineEnd = match.index;
      this.#checkLength(this.#partialLine.length + lineEnd - position);
      const line = this.#partialLine + text.slice(position, lineEnd);
      this.#partialLine = '';
      this.#processLine(line, events);
      position = lineEnd + 1;
      if (text.charCodeAt(lineEnd) === CR) {
        if (position === text.length) this.#isAfterCr = true;
        else if (text.charCodeAt(position) === LF) position += 1;
      }
      terminator.lastIndex = position;
    }
    this.#checkLength(this.#partialLine.length + text.length - position);
    this.#partialLine += text.slice(position);
  }

  #processLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.#dispatch(events);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#checkLength(this.#data.length + value.length + 1);
        this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
        this.#hasData = true;
        break;
      case 'event':
        this.#eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastEventIdBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retryMs = Number(value);
        break;
      default:
        // Unknown fields are ignored, as the spec requires.
        break;
    }
  }

  #dispatch(events: SseEvent[]): void {
    this.#lastEventId = this.#lastEventIdBuffer;
    if (this.#hasData) {
      events.push({
        type: this.#eventType === '' ? 'message' : this.#eventType,
        data: this.#data,
        lastEventId: this.#lastEventId,
      });
    }
    this.#data = '';
    this.#hasData = false;
    this.#eventType = '';
  }

  #checkLength(chars: number): void {
    if (chars > this.#maxLineChars) throw new SseLineTooLongError(this.#maxLineChars);
  }
}
