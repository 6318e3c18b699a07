/** Chat commands the gateway answers itself (OpenClaw's HTTP endpoint does not interpret slash commands). */
export type ChatCommand = 'new' | 'stop' | 'status' | 'help';

const COMMANDS: Readonly<Record<string, ChatCommand>> = {
  '/new': 'new',
  '/reset': 'new',
  '/stop': 'stop',
  '/status': 'status',
  '/help': 'help',
};

/**
 * The command a message consists of, if any: the first word, case-insensitive (`/new`, `/reset`,
 * `/stop`, `/status`, `/help`); anything after it is ignored. Other slash words are not commands
 * and go to the agent as text.
 */
export function parseCommand(text: string): ChatCommand | undefined {
  const [word] = text.trim().split(/\s+/, 1);
  return word === undefined ? undefined : COMMANDS[word.toLowerCase()];
}

/** The `/help` text. */
export const HELP_TEXT = [
  '可用命令 (commands):',
  '/new (/reset) — 开始新的对话 (start a fresh conversation with the assistant)',
  '/stop — 停止当前回答 (stop the answer in progress)',
  '/status — 查看状态 (account, session, queue)',
  '/help — 显示本帮助 (this help)',
].join('\n');
