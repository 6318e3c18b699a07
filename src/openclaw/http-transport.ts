import type { AgentEvent, AgentTransport, AgentTurn, AgentTurnSummary } from './agent-transport.js';
import type { OpenClawChatClient } from './chat-client.js';

/**
 * {@link AgentTransport} over OpenClaw's chat-completions endpoint: text only (the HTTP stream
 * carries no tool, thinking or artifact events), no server-side session reset.
 */
export class HttpAgentTransport implements AgentTransport {
  readonly kind = 'http';
  readonly takesFileAttachments = false;
  readonly #client: OpenClawChatClient;

  constructor(client: OpenClawChatClient) {
    this.#client = client;
  }

  async *run(turn: AgentTurn): AsyncGenerator<AgentEvent, AgentTurnSummary> {
    const stream = this.#client.streamChat({
      sessionKey: turn.sessionKey,
      agentId: turn.agentId,
      messages: turn.messages,
      signal: turn.signal,
    });
    let isDone = false;
    try {
      for (;;) {
        const next = await stream.next();
        if (next.done === true) {
          isDone = true;
          return { finishReason: next.value.finishReason };
        }
        yield { type: 'text', delta: next.value };
      }
    } finally {
      // A consumer that stops early must still close the HTTP request (that aborts the OpenClaw run).
      if (!isDone) await stream.return(undefined as never).catch(() => undefined);
    }
  }

  resetSession(): Promise<boolean> {
    return Promise.resolve(false);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
