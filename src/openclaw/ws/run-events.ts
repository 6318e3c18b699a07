/**
 * Turns the `chat` and `agent` events of one run into the transport's {@link AgentEvent}s, in order,
 * and tracks how the run ended (shared/reference/openclaw-api.md §5.4;
 * test/fixtures/openclaw-ws/turn-*.json).
 *
 * Text comes from the `chat` stream only: its `message` is the cumulative reply, so a delta seen twice
 * (after a reconnect, or from `chat.history`'s `inFlightRun`) yields nothing new. Text written before a
 * tool call is part of the reply (OpenClaw 2026.9.6 keeps it in the deltas and in `final`).
 */
import type { AgentEvent } from '../agent-transport.js';
import {
  AgentEventPayload,
  ChatEventPayload,
  ItemData,
  messageText,
  ThinkingData,
  ToolData,
  type EventFrame,
} from './frames.js';

/** Longest tool output kept per `tool-result` event; longer output is cut and marked with `…`. */
export const MAX_TOOL_RESULT_CHARS = 8_000;
/** Item statuses that mean the tool failed. */
const FAILED_STATUSES = new Set(['failed', 'error', 'errored']);

/** How a run ended. */
export type RunOutcome =
  | { readonly kind: 'final'; readonly stopReason: string | undefined }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'aborted'; readonly stopReason: string | undefined };

/** Something in the stream that could not be used; counted and logged by the caller. */
export interface RunProtocolWarning {
  readonly reason: 'malformed-event' | 'text-rewritten';
  readonly detail: string;
}

/** The state of one run as its events arrive. */
export class RunTracker {
  readonly runId: string;
  readonly warnings: RunProtocolWarning[] = [];
  #text = '';
  #chatSeq = -1;
  #agentSeq = -1;
  #outcome: RunOutcome | undefined;
  readonly #failedTools = new Set<string>();
  readonly #mediaUrls = new Set<string>();

  constructor(runId: string) {
    this.runId = runId;
  }

  /** The reply text yielded so far. */
  get text(): string {
    return this.#text;
  }

  /**
   * Files the run announced (`agent` `assistant` events' `mediaUrls`, from the agent's `MEDIA:` lines):
   * how many artifacts to expect. OpenClaw lists them only shortly after the `final` event.
   */
  get announcedMediaCount(): number {
    return this.#mediaUrls.size;
  }

  /** Set once a terminal `chat` event (`final`, `error`, `aborted`) arrived. */
  get outcome(): RunOutcome | undefined {
    return this.#outcome;
  }

  /** The events one `chat` or `agent` event frame of this run stands for (none once ended). */
  accept(frame: EventFrame): AgentEvent[] {
    if (this.#outcome !== undefined) return [];
    if (frame.event === 'chat') return this.#onChat(frame.payload);
    if (frame.event === 'agent') return this.#onAgent(frame.payload);
    return [];
  }

  /** Takes the cumulative reply text reported elsewhere (`chat.history` `inFlightRun.text`). */
  adoptText(text: string): AgentEvent[] {
    return this.#advanceTo(text);
  }

  /** Ends the run from what `chat.history` and `agent.wait` tell after a reconnect. */
  finish(outcome: RunOutcome, finalText: string | undefined): AgentEvent[] {
    if (this.#outcome !== undefined) return [];
    const events = finalText === undefined ? [] : this.#advanceTo(finalText);
    this.#outcome = outcome;
    return events;
  }

  #onChat(raw: unknown): AgentEvent[] {
    const parsed = ChatEventPayload.safeParse(raw);
    if (!parsed.success) return this.#malformed('chat', parsed.error.message);
    const payload = parsed.data;
    // Delta and final share a seq; a lower one is a replay (or the second, generic error event).
    if (payload.seq !== undefined) {
      if (payload.seq < this.#chatSeq) return [];
      this.#chatSeq = payload.seq;
    }
    switch (payload.state) {
      case 'delta': {
        const snapshot =
          messageText(payload.message) ??
          (payload.replace === true ? payload.deltaText : this.#text + (payload.deltaText ?? ''));
        return snapshot === undefined ? [] : this.#advanceTo(snapshot);
      }
      case 'final': {
        const events = this.#advanceTo(messageText(payload.message) ?? this.#text);
        this.#outcome = { kind: 'final', stopReason: payload.stopReason };
        return events;
      }
      case 'aborted': {
        const events = this.#advanceTo(messageText(payload.message) ?? this.#text);
        this.#outcome = { kind: 'aborted', stopReason: payload.stopReason };
        return events;
      }
      case 'error':
        this.#outcome = { kind: 'error', message: payload.errorMessage ?? 'the run failed' };
        return [];
      default:
        return [];
    }
  }

  #onAgent(raw: unknown): AgentEvent[] {
    const parsed = AgentEventPayload.safeParse(raw);
    if (!parsed.success) return this.#malformed('agent', parsed.error.message);
    const payload = parsed.data;
    if (payload.seq !== undefined) {
      if (payload.seq <= this.#agentSeq) return [];
      this.#agentSeq = payload.seq;
    }
    switch (payload.stream) {
      case 'assistant': {
        const urls = payload.data['mediaUrls'];
        if (Array.isArray(urls))
          for (const url of urls) if (typeof url === 'string') this.#mediaUrls.add(url);
        return [];
      }
      case 'item':
        return this.#onItem(payload.data);
      case 'tool':
        return this.#onTool(payload.data);
      case 'thinking': {
        const thinking = ThinkingData.safeParse(payload.data);
        const delta = thinking.success ? thinking.data.delta : undefined;
        return delta === undefined || delta === '' ? [] : [{ type: 'thinking', delta }];
      }
      default:
        return [];
    }
  }

  #onItem(data: Record<string, unknown>): AgentEvent[] {
    const parsed = ItemData.safeParse(data);
    if (!parsed.success || parsed.data.kind !== 'tool') return [];
    const item = parsed.data;
    if (item.phase !== 'start' && item.phase !== 'end') return [];
    const hasFailed =
      item.phase === 'end' &&
      ((item.status !== undefined && FAILED_STATUSES.has(item.status)) ||
        (item.toolCallId !== undefined && this.#failedTools.has(item.toolCallId)));
    return [
      {
        type: 'tool',
        phase: item.phase,
        name: item.name ?? 'tool',
        title: item.title,
        isError: hasFailed,
      },
    ];
  }

  #onTool(data: Record<string, unknown>): AgentEvent[] {
    const parsed = ToolData.safeParse(data);
    if (!parsed.success || parsed.data.phase !== 'result') return [];
    const tool = parsed.data;
    const isError = tool.isError === true;
    if (isError && tool.toolCallId !== undefined) this.#failedTools.add(tool.toolCallId);
    return [{ type: 'tool-result', name: tool.name, text: toolResultText(tool.result), isError }];
  }

  #advanceTo(snapshot: string): AgentEvent[] {
    if (snapshot === this.#text) return [];
    if (!snapshot.startsWith(this.#text)) {
      // Text already shown cannot be taken back; keep what was yielded and go on from later snapshots.
      if (!this.#text.startsWith(snapshot)) {
        this.warnings.push({
          reason: 'text-rewritten',
          detail: `snapshot of ${snapshot.length} characters does not extend the ${this.#text.length} yielded`,
        });
      }
      return [];
    }
    const delta = snapshot.slice(this.#text.length);
    this.#text = snapshot;
    return [{ type: 'text', delta }];
  }

  #malformed(event: string, detail: string): AgentEvent[] {
    this.warnings.push({ reason: 'malformed-event', detail: `${event}: ${detail.slice(0, 200)}` });
    return [];
  }
}

/**
 * A tool result (`{content: [{type:"text", text}, …], details}`) as text: text parts joined by
 * newlines, other parts named (`[image]`), cut to {@link MAX_TOOL_RESULT_CHARS}.
 */
export function toolResultText(result: unknown): string {
  let text: string;
  const content =
    typeof result === 'object' && result !== null ? (result as { content?: unknown }).content : undefined;
  if (Array.isArray(content)) {
    text = content
      .map((part: unknown) => {
        if (typeof part !== 'object' || part === null) return '';
        const { type, text: partText } = part as { type?: unknown; text?: unknown };
        if (type === 'text' && typeof partText === 'string') return partText;
        return typeof type === 'string' ? `[${type}]` : '';
      })
      .filter((part) => part !== '')
      .join('\n');
  } else if (typeof result === 'string') {
    text = result;
  } else if (result === undefined) {
    text = '';
  } else {
    text = JSON.stringify(result);
  }
  return text.length > MAX_TOOL_RESULT_CHARS ? `${text.slice(0, MAX_TOOL_RESULT_CHARS)}…` : text;
}
