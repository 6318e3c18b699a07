import type { AccountConfig } from '../config/types.js';
import type { ConversationOutbox } from '../delivery/conversation-outbox.js';
import type { DeliveryPath, ReplyRouter } from '../delivery/reply-router.js';
import type { Logger } from '../log/logger.js';
import type { AgentTransport } from '../openclaw/agent-transport.js';
import { formatReply, textFormat } from '../reply/format-reply.js';
import type { ReplyRoute, StateStore } from '../state/store.js';
import { type ChatCommand, HELP_TEXT } from './commands.js';
import { conversationKeyOf } from './conversation-key.js';
import type { InboundMessage } from './inbound-message.js';
import { NOTICES } from './notices.js';

/** What a command may look at and change. */
export interface CommandServices {
  readonly store: StateStore;
  readonly transport: Pick<AgentTransport, 'kind' | 'resetSession'>;
  readonly agentId: string;
  /** Stops the turn running for a queue key (here or on another replica); false when none runs. */
  readonly stopRunning: (queueKey: string) => Promise<boolean>;
  /** Unfinished entries of a queue key. */
  readonly queueDepth: (queueKey: string) => Promise<number>;
  readonly outbox: ConversationOutbox<DeliveryPath>;
  readonly router: ReplyRouter;
}

/** One command as received. */
export interface CommandRequest {
  readonly command: ChatCommand;
  readonly message: InboundMessage;
  readonly account: AccountConfig;
  /** The session key without `/new` generation (also the queue key). */
  readonly baseSessionKey: string;
  /** The session key in use now. */
  readonly sessionKey: string;
  readonly route: ReplyRoute;
}

/** The session key for `generation` rotations of `baseKey` (`/new` over HTTP). */
export function withGeneration(baseKey: string, generation: number): string {
  return generation === 0 ? baseKey : `${baseKey}:g${generation}`;
}

/**
 * Runs `/new`, `/stop`, `/status` and `/help` at once, outside the conversation queue (`/stop`
 * must reach a running turn). Over HTTP `/new` rotates the session key (persisted); a transport
 * that can reset sessions itself is asked instead. Returns the reply text, or undefined when the
 * answer is given elsewhere (a stopped turn ends with its own "stopped" line).
 */
export async function runCommand(
  request: CommandRequest,
  services: CommandServices,
): Promise<string | undefined> {
  switch (request.command) {
    case 'help':
      return HELP_TEXT;
    case 'stop':
      return (await services.stopRunning(request.baseSessionKey)) ? undefined : NOTICES.nothingToStop;
    case 'new': {
      const isReset = await services.transport.resetSession(request.sessionKey, services.agentId);
      if (!isReset) await services.store.bumpSessionGeneration(request.baseSessionKey);
      return NOTICES.newSession;
    }
    case 'status': {
      const generation = await services.store.sessionGeneration(request.baseSessionKey);
      const depth = await services.queueDepth(request.baseSessionKey);
      return [
        `账号 (account): ${request.account.name}`,
        `会话 (session): ${withGeneration(request.baseSessionKey, generation)}`,
        `传输 (transport): ${services.transport.kind} → agent ${services.agentId}`,
        `队列 (queue): ${depth === 0 ? 'idle' : `${depth} message(s) in progress or waiting`}`,
        `收件箱 (inbox): ${await services.store.inboxDepth()} unfinished`,
      ].join('\n');
    }
  }
}

/**
 * Sends a short answer straight into the conversation, outside the inbox (command replies, the
 * busy notice), rate limited like every reply.
 */
export async function replyDirectly(
  target: { readonly message: InboundMessage; readonly account: AccountConfig; readonly route: ReplyRoute },
  text: string,
  services: Pick<CommandServices, 'outbox' | 'router'>,
  log: Logger,
): Promise<void> {
  const key = conversationKeyOf(target.message);
  for (const message of formatReply(text, textFormat(target.account))) {
    await services.outbox.send(key, message, target.account.maxChars, (merged) =>
      services.router.deliver(target.route, merged, log),
    );
  }
}
