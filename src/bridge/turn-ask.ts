import type { AccountConfig } from '../config/types.js';
import type { MediaMessage } from '../dingtalk/outgoing-message.js';
import { STREAM_RECONNECT_POLICY } from '../dingtalk/stream/backoff.js';
import type { Logger } from '../log/logger.js';
import type { ChatMessage } from '../openclaw/chat-client.js';
import type { InboxRecord } from '../state/store.js';
import { buildAgentContent } from './agent-content.js';
import { agentInstructions } from './agent-instructions.js';
import { askAgent } from './ask-agent.js';
import { NOTICES, noticeFor } from './notices.js';
import { prepareReply } from './reply-media.js';
import type { TurnDependencies } from './turn-deps.js';

/** What asking the agent produced: reply text (attachments taken out), media, and whether it is only a notice. */
export interface AgentReply {
  readonly text: string;
  readonly media: MediaMessage[];
  readonly isNotice: boolean;
}

/**
 * Asks the agent for one entry (counting the start, so a message that keeps crashing the gateway is
 * eventually given up) and prepares its reply: attachments uploaded, problems turned into notice
 * lines. Undefined when aborted (the entry stays in the inbox).
 */
export async function askForReply(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<AgentReply | undefined> {
  await deps.store.markStarted(record.id);
  try {
    const input = await buildAgentContent(record.job.message, record.job.text, {
      source: deps.inboundMedia,
      limits: deps.media,
      log,
      signal,
    });
    const instructions = agentInstructions({
      mediaRoots: account.mediaRoots,
      allowRemoteUrls: deps.media.allowRemoteUrls,
    });
    const messages: ChatMessage[] = [
      ...(instructions === undefined ? [] : [{ role: 'system' as const, content: instructions }]),
      { role: 'user', content: input.content },
    ];
    const startedMs = performance.now();
    const answer = await askAgent(
      deps.agent,
      {
        sessionKey: record.job.sessionKey,
        agentId: deps.agentId,
        messages,
        idempotencyKey: record.dedupeKey,
        thinking: account.thinking,
        signal,
      },
      { attempts: deps.delivery.turnAttempts, backoff: { ...STREAM_RECONNECT_POLICY, maxDelayMs: 10_000 } },
      log,
    );
    deps.metrics.turnDurationSeconds.observe((performance.now() - startedMs) / 1000);
    const inputNotes = input.notes.map((note) => `⚠️ ${note}`);
    let text = answer.text.trim();
    if (answer.failure !== undefined) {
      deps.metrics.turns.inc({ outcome: 'error' });
      log.warn(
        { err: answer.failure, partialChars: text.length, tries: answer.tries },
        'agent turn failed; sending an error notice',
      );
    } else {
      deps.metrics.turns.inc({ outcome: 'ok' });
    }
    const prepared = await prepareReply(text, {
      accountId: account.id,
      replyMode: account.replyMode,
      mediaRoots: account.mediaRoots,
      limits: deps.media,
      services: deps.replyMedia,
      log,
      signal,
    });
    text = prepared.text;
    const isNotice = text === '' && prepared.media.length === 0;
    const failureNotice = answer.failure === undefined ? undefined : noticeFor(answer.failure, !isNotice);
    const emptyNotice = answer.failure === undefined && isNotice ? NOTICES.empty : undefined;
    const body = [text, failureNotice ?? emptyNotice, ...prepared.notices, ...inputNotes].filter(
      (part): part is string => part !== undefined && part !== '',
    );
    return { text: body.join('\n\n'), media: prepared.media, isNotice };
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}
