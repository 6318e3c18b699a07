import type { ChatMessage } from './schema.js';

/** One agent turn as the bridge asks for it, whatever transport carries it. */
export interface AgentTurn {
  /** Our session key (OpenClaw stores it as `agent:<agentId>:<key>`, lower-cased). */
  readonly sessionKey: string;
  readonly agentId: string;
  /** Optional system message(s) first, then exactly one user message (the new turn). */
  readonly messages: readonly ChatMessage[];
  /** The DingTalk message id: the WebSocket transport passes it as `idempotencyKey`. */
  readonly idempotencyKey: string;
  /** Inbound files to attach (WebSocket transport; over HTTP they are described in the text instead). */
  readonly files?: readonly AgentFile[];
  /** Thinking level for this turn (WebSocket transport only; ignored over HTTP). */
  readonly thinking?: 'off' | 'minimal' | 'low' | 'medium' | 'high';
  /** Aborting stops the turn: over HTTP by closing the request, over WebSocket with `chat.abort`. */
  readonly signal: AbortSignal;
}

/** A file the user sent, handed to the agent as it is. */
export interface AgentFile {
  readonly fileName: string;
  readonly mimeType: string;
  readonly bytes: Buffer;
}

/** What happens during a turn, in order. Transports emit what they can observe. */
export type AgentEvent =
  | { readonly type: 'text'; readonly delta: string }
  /** A tool started or ended (WebSocket `agent` stream `item`, kind `tool`). */
  | {
      readonly type: 'tool';
      readonly phase: 'start' | 'end';
      readonly name: string;
      readonly title: string | undefined;
      readonly isError: boolean;
    }
  /** A tool's output (WebSocket `agent` stream `tool`, phase `result`), already reduced to text. */
  | { readonly type: 'tool-result'; readonly name: string; readonly text: string; readonly isError: boolean }
  /** Reasoning text (WebSocket `agent` stream `thinking`). */
  | { readonly type: 'thinking'; readonly delta: string }
  /** A file the run produced (WebSocket artifacts), fetched by the transport after the final event. */
  | {
      readonly type: 'artifact';
      readonly fileName: string;
      readonly contentType: string | undefined;
      readonly bytes: Buffer;
    };

/** How a completed turn ended. */
export interface AgentTurnSummary {
  readonly finishReason: string | undefined;
}

/**
 * The one interface the bridge talks to, implemented by the HTTP transport (chat completions, text
 * only) and the WebSocket transport (gateway protocol: tools, thinking, aborts, artifacts).
 * `run` yields events in order and returns normally only when the turn completed; failures throw
 * the typed OpenClaw errors of `errors.ts` (an abort throws `TurnAbortedError`).
 */
export interface AgentTransport {
  readonly kind: 'http' | 'ws';
  /** Whether `AgentTurn.files` reach the agent as files; otherwise the bridge describes them in the text. */
  readonly takesFileAttachments: boolean;
  run(turn: AgentTurn): AsyncGenerator<AgentEvent, AgentTurnSummary>;
  /** Starts a fresh agent session for `sessionKey` (WebSocket: `sessions.reset`); false when unsupported. */
  resetSession(sessionKey: string, agentId: string): Promise<boolean>;
  close(): Promise<void>;
}
