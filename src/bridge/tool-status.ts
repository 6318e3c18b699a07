import type { AccountConfig } from '../config/types.js';
import type { AgentEvent } from '../openclaw/agent-transport.js';

/** Longest tool output shown with `showToolResult`. */
export const MAX_TOOL_RESULT_CHARS = 300;

function truncate(text: string, maxChars: number): string {
  const flat = text.trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars).trimEnd()}…`;
}

/**
 * The line shown in the reply for a tool event (WebSocket transport): `🔧 <title>` when a tool
 * starts (with `showToolStatus`), its output as a quote, cut to {@link MAX_TOOL_RESULT_CHARS},
 * when it returns (with `showToolResult`). Undefined for every other event or when switched off.
 */
export function toolLine(
  event: AgentEvent,
  account: Pick<AccountConfig, 'showToolStatus' | 'showToolResult'>,
): string | undefined {
  if (event.type === 'tool' && event.phase === 'start' && account.showToolStatus) {
    return `🔧 ${event.title ?? event.name}`;
  }
  if (event.type === 'tool' && event.phase === 'end' && event.isError && account.showToolStatus) {
    return `⚠️ ${event.title ?? event.name} failed`;
  }
  if (event.type === 'tool-result' && account.showToolResult) {
    const output = truncate(event.text, MAX_TOOL_RESULT_CHARS);
    if (output === '') return undefined;
    return output
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
  }
  return undefined;
}
