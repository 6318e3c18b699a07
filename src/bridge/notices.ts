import {
  OpenClawAuthError,
  OpenClawHttpError,
  OpenClawStreamError,
  OpenClawTimeoutError,
  OpenClawUnavailableError,
} from '../errors.js';

/**
 * Short texts the user sees instead of silence. Chinese first (DingTalk's users), English after, so
 * either reader understands.
 */
export const NOTICES = {
  unavailable:
    '⚠️ 抱歉，AI 助手暂时无法访问，请稍后再试。(The assistant is unavailable right now; please try again later.)',
  auth: '⚠️ AI 助手配置有误，请联系管理员。(The gateway could not authenticate with the assistant; please tell the administrator.)',
  busy: '⚠️ AI 助手正忙，请稍后再试。(The assistant is busy; please try again in a moment.)',
  timeout: '⚠️ 抱歉，AI 助手响应超时，请重试。(The assistant took too long to answer; please try again.)',
  failed: '⚠️ 抱歉，AI 助手处理时出错，请重试。(The assistant ran into an error; please try again.)',
  interrupted: '⚠️ 回复被中断。(The reply was interrupted.)',
  empty: '⚠️ AI 助手没有返回内容。(The assistant returned no answer.)',
  tooLate:
    '⚠️ 抱歉，这条消息未能及时得到回复，请重新发送。(Sorry, this message could not be answered in time; please send it again.)',
  queueFull:
    '⚠️ AI 助手正忙于处理之前的消息，请稍后再发。(The assistant is still busy with earlier messages; please send this again later.)',
  working: '⏳ 正在处理，请稍候… (Working on it…)',
  stopped: '⏹️ 已停止。(Stopped.)',
  nothingToStop: '没有正在进行的回答。(Nothing to stop.)',
  newSession: '🆕 已开始新的对话。(Started a new conversation.)',
  gaveUp: '⚠️ 抱歉，这条消息多次处理失败，已放弃。(Sorry, this message failed repeatedly and was given up.)',
} as const;

/** The notice for a failed turn, chosen by error type; `hasPartialText` when some reply already exists. */
export function noticeFor(error: unknown, hasPartialText: boolean): string {
  if (hasPartialText) return NOTICES.interrupted;
  if (error instanceof OpenClawAuthError) return NOTICES.auth;
  if (error instanceof OpenClawHttpError) {
    if (error.status === 401 || error.status === 403) return NOTICES.auth;
    if (error.status === 429) return NOTICES.busy;
    return error.status >= 500 ? NOTICES.unavailable : NOTICES.failed;
  }
  if (error instanceof OpenClawTimeoutError) return NOTICES.timeout;
  if (error instanceof OpenClawUnavailableError) return NOTICES.unavailable;
  if (error instanceof OpenClawStreamError) return NOTICES.failed;
  return NOTICES.failed;
}
