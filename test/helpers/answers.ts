import type { FakeDingTalk, RecordedRobotMessage, RecordedWebhookPost } from '../fakes/fake-dingtalk.js';

/** One reply DingTalk accepted, whichever API carried it. */
export interface DeliveredAnswer {
  readonly conversationId: string;
  readonly text: string;
  readonly route: 'webhook' | 'proactive';
  readonly atMs: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a `{msgtype, markdown: {text}}` / `{msgtype, text: {content}}` body or a proactive `msgParam`. */
export function replyText(payload: unknown): string | undefined {
  if (!isRecord(payload)) return undefined;
  const markdown = payload['markdown'];
  if (isRecord(markdown) && typeof markdown['text'] === 'string') return markdown['text'];
  const text = payload['text'];
  if (isRecord(text) && typeof text['content'] === 'string') return text['content'];
  if (typeof text === 'string') return text;
  return typeof payload['content'] === 'string' ? payload['content'] : undefined;
}

/** Whether DingTalk took a webhook post (HTTP 200 with errcode 0). */
export function isAcceptedPost(post: RecordedWebhookPost): boolean {
  const body = post.response.body;
  return post.response.status === 200 && isRecord(body) && body['errcode'] === 0;
}

function proactiveConversation(
  message: RecordedRobotMessage,
  dmConversationByStaffId: ReadonlyMap<string, string>,
): string | undefined {
  if (message.kind === 'group') {
    const id = message.body['openConversationId'];
    return typeof id === 'string' ? id : undefined;
  }
  const userIds = message.body['userIds'];
  const staffId: unknown = Array.isArray(userIds) ? userIds[0] : undefined;
  return typeof staffId === 'string' ? dmConversationByStaffId.get(staffId) : undefined;
}

/**
 * Every reply DingTalk accepted (webhook posts answered errcode 0, plus proactive robot messages), in
 * the order the fake took them, mapped to the conversation they reached. Webhook posts map through
 * the session the fake handed out; proactive DMs through the recipient's staffId
 * (`dmConversationByStaffId`), proactive group messages through `openConversationId`. Throws when a
 * reply cannot be mapped, since that is itself a misdelivery.
 */
export function deliveredAnswers(
  dingtalk: FakeDingTalk,
  dmConversationByStaffId: ReadonlyMap<string, string>,
): DeliveredAnswer[] {
  const answers: DeliveredAnswer[] = [];
  for (const post of dingtalk.webhookPosts.filter(isAcceptedPost)) {
    const text = replyText(post.body);
    if (post.conversationId === undefined || text === undefined)
      throw new Error(`webhook post without a known conversation or text: ${JSON.stringify(post.body)}`);
    answers.push({ conversationId: post.conversationId, text, route: 'webhook', atMs: post.atMs });
  }
  for (const message of dingtalk.robotMessages) {
    const conversationId = proactiveConversation(message, dmConversationByStaffId);
    const text = replyText(message.msgParam);
    if (conversationId === undefined || text === undefined)
      throw new Error(
        `proactive message without a known conversation or text: ${JSON.stringify(message.body)}`,
      );
    answers.push({ conversationId, text, route: 'proactive', atMs: message.atMs });
  }
  return answers.sort((a, b) => a.atMs - b.atMs);
}

/** The texts of `answers` grouped per conversation, in delivery order. */
export function answersByConversation(answers: readonly DeliveredAnswer[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const answer of answers) {
    const list = grouped.get(answer.conversationId) ?? [];
    list.push(answer.text);
    grouped.set(answer.conversationId, list);
  }
  return grouped;
}
