import type { AccountConfig } from '../config/types.js';
import type { OutgoingMessage } from '../dingtalk/outgoing-message.js';
import { STREAM_RECONNECT_POLICY } from '../dingtalk/stream/backoff.js';
import type { Logger } from '../log/logger.js';
import { MediaTagFilter } from '../media/media-tags.js';
import type { AgentEvent } from '../openclaw/agent-transport.js';
import type { ChatMessage } from '../openclaw/chat-client.js';
import { CardReply } from '../cards/card-reply.js';
import type { CardTarget } from '../dingtalk/api/card-api.js';
import { formatReply, textFormat } from '../reply/format-reply.js';
import type { InboxRecord } from '../state/store.js';
import { buildAgentContent } from './agent-content.js';
import { cardTrackId } from './interrupted-card.js';
import { agentInstructions } from './agent-instructions.js';
import { type AgentAnswer, askAgent } from './ask-agent.js';
import { NOTICES, noticeFor } from './notices.js';
import { type RunArtifact, prepareAttachments } from './reply-media.js';
import { toolLine } from './tool-status.js';
import { CardPresenter, MessagePresenter, type ReplyPresenter } from './reply-presenter.js';
import type { TurnDependencies } from './turn-deps.js';
import type { TurnSignals } from './turn.js';

/** Receives reply messages as they become final; `isComplete` on the last call. */
export type ReplyEmitter = (messages: OutgoingMessage[], isComplete: boolean) => void;

/** How the agent's turn ended. */
export interface StreamedReply {
  /** Only a notice was sent (the agent produced nothing usable). */
  readonly isNotice: boolean;
}

/** {@link askAgent}, except that a `/stop` ends the turn normally with `isStopped` instead of throwing. */
async function askAgentUnlessStopped(
  ...args: [...Parameters<typeof askAgent>, TurnSignals]
): Promise<AgentAnswer & { isStopped: boolean }> {
  const [transport, turn, options, log, onEvent, signals] = args;
  try {
    return { ...(await askAgent(transport, turn, options, log, onEvent)), isStopped: false };
  } catch (error) {
    if (signals.shutdown.aborted || !signals.turn.aborted) throw error;
    log.info('turn stopped by the user');
    return { text: '', failure: undefined, tries: 1, isStopped: true };
  }
}

async function agentMessages(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
) {
  const input = await buildAgentContent(record.job.message, record.job.text, {
    source: deps.inboundMedia,
    limits: deps.media,
    log,
    signal,
    filesAsAttachments: deps.agent.takesFileAttachments,
  });
  const instructions = agentInstructions({
    mediaRoots: account.mediaRoots,
    allowRemoteUrls: deps.media.allowRemoteUrls,
  });
  const messages: ChatMessage[] = [
    ...(instructions === undefined ? [] : [{ role: 'system' as const, content: instructions }]),
    { role: 'user', content: input.content },
  ];
  return { messages, files: input.files, inputNotes: input.notes.map((note) => `⚠️ ${note}`) };
}

/** Where a card for this message would go: the DM sender (needs a staffId) or the group. */
function cardTargetOf(record: InboxRecord): CardTarget | undefined {
  const { message } = record.job;
  if (message.chatType === 'group') return { kind: 'group', openConversationId: message.conversationId };
  return message.senderStaffId === undefined ? undefined : { kind: 'dm', userId: message.senderStaffId };
}

/**
 * The presenter of this reply: a streaming card in card mode (created now, in its "processing"
 * state, so the user sees the bot working), else messages sent piece by piece.
 */
async function openPresenter(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signal: AbortSignal,
): Promise<ReplyPresenter> {
  const prefix = (await deps.store.hasAnswered(record.job.sessionKey)) ? undefined : account.responsePrefix;
  const target = account.replyMode === 'card' ? cardTargetOf(record) : undefined;
  if (target !== undefined && deps.cards.isAvailable(account.id)) {
    const outTrackId = cardTrackId(record, record.attempts + 1);
    const card = await CardReply.open(deps.cards, { accountId: account.id, outTrackId, target, log, signal });
    if (card !== undefined) return new CardPresenter(card, account, prefix);
  }
  return new MessagePresenter(account, prefix);
}

/** Puts the working reaction on (and takes it off), or sends a "working on it" message after a while. */
function startIndicator(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  presenter: ReplyPresenter,
  emit: ReplyEmitter,
): () => Promise<void> {
  const { indicator } = account;
  const message = record.job.message;
  const usesReaction = indicator.reaction && !(presenter instanceof CardPresenter);
  if (usesReaction) void deps.reactions.add(message, indicator.reactionName);
  const timer =
    indicator.noticeAfterMs > 0 && !(presenter instanceof CardPresenter)
      ? setTimeout(() => {
          if (!presenter.hasShown) emit(formatReply(NOTICES.working, textFormat(account)), false);
        }, indicator.noticeAfterMs)
      : undefined;
  return async () => {
    clearTimeout(timer);
    if (usesReaction) await deps.reactions.recall(message, indicator.reactionName);
  };
}

/**
 * Asks the agent for one entry and emits the reply while it streams: attachment tags are taken
 * out as they arrive (never shown half-parsed), then the text goes to a streaming card (card mode)
 * or out as messages piece by piece, and at the end the rest follows with inline images, notices,
 * then media messages. Counts the turn start, so a message that keeps crashing the gateway is
 * eventually given up. Undefined when aborted by shutdown (whatever was emitted stays recorded).
 */
export async function streamReply(
  record: InboxRecord,
  account: AccountConfig,
  deps: TurnDependencies,
  log: Logger,
  signals: TurnSignals,
  emit: ReplyEmitter,
): Promise<StreamedReply | undefined> {
  const signal = signals.shutdown;
  await deps.store.markStarted(record.id);
  try {
    const { messages, files, inputNotes } = await agentMessages(record, account, deps, log, signal);
    const presenter = await openPresenter(record, account, deps, log, signal);
    const stopIndicator = startIndicator(record, account, deps, presenter, emit);
    const filter = new MediaTagFilter();
    let visible = '';
    const show = (text: string): void => {
      visible += text;
      const ready = presenter.text(text, visible);
      if (ready.length > 0) emit(ready, false);
    };
    const startedMs = performance.now();
    let isFirstText = true;
    const artifacts: RunArtifact[] = [];
    const onEvent = (event: AgentEvent): void => {
      if (event.type === 'artifact') {
        artifacts.push(event);
        return;
      }
      const line = toolLine(event, account);
      if (line !== undefined) show(`\n\n${line}\n\n`);
      if (event.type !== 'text') return;
      if (isFirstText) deps.metrics.timeToFirstTokenSeconds.observe((performance.now() - startedMs) / 1000);
      isFirstText = false;
      show(filter.push(event.delta));
    };
    const answer = await askAgentUnlessStopped(
      deps.agent,
      {
        sessionKey: record.job.sessionKey,
        agentId: deps.agentId,
        messages,
        files,
        idempotencyKey: record.dedupeKey,
        thinking: account.thinking,
        signal: signals.turn,
      },
      { attempts: deps.delivery.turnAttempts, backoff: { ...STREAM_RECONNECT_POLICY, maxDelayMs: 10_000 } },
      log,
      onEvent,
      signals,
    ).finally(stopIndicator);
    show(filter.end());
    deps.metrics.turns.inc({
      outcome: answer.isStopped ? 'stopped' : answer.failure === undefined ? 'ok' : 'error',
    });
    if (answer.failure !== undefined) {
      log.warn(
        { err: answer.failure, partialChars: visible.length, tries: answer.tries },
        'agent turn failed; sending an error notice',
      );
    }
    const attachments = await prepareAttachments(
      filter.attachments,
      filter.problems,
      {
        accountId: account.id,
        replyMode: textFormat(account).replyMode,
        mediaRoots: account.mediaRoots,
        limits: deps.media,
        services: deps.replyMedia,
        log,
        signal,
      },
      artifacts,
    );
    const hasContent =
      visible.trim() !== '' || attachments.inlineImages.length > 0 || attachments.media.length > 0;
    const outcomeNotice = answer.isStopped
      ? NOTICES.stopped
      : answer.failure !== undefined
        ? noticeFor(answer.failure, hasContent)
        : hasContent
          ? undefined
          : NOTICES.empty;
    const trailer = [
      ...attachments.inlineImages,
      ...(outcomeNotice === undefined ? [] : [outcomeNotice]),
      ...attachments.notices,
      ...inputNotes,
    ];
    const rest = await presenter.finish(visible, trailer, answer.failure !== undefined);
    emit([...rest, ...attachments.media], true);
    return { isNotice: !hasContent };
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}
