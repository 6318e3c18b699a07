import type { InboundMessage } from './inbound-message.js';

/**
 * The OpenClaw session a message belongs to (sent as `x-openclaw-session-key`; OpenClaw stores it
 * as `agent:<agentId>:<key>`). Case is preserved: conversation ids are case-sensitive base64.
 * - DM: `dingtalk:<accountId>:dm:<senderStaffId || senderId>`
 * - group: `dingtalk:<accountId>:group:<conversationId>`, plus `:user:<sender>` when
 *   `isolateContextPerUserInGroup` is on.
 */
export function sessionKeyFor(message: InboundMessage, isolateContextPerUserInGroup: boolean): string {
  const base = `dingtalk:${message.accountId}`;
  if (message.chatType === 'dm') return `${base}:dm:${message.senderKey}`;
  const group = `${base}:group:${message.conversationId}`;
  return isolateContextPerUserInGroup ? `${group}:user:${message.senderKey}` : group;
}
