/**
 * Default answers of the fake DingTalk's message APIs, decided from the request alone: the robot send
 * APIs (after the token check) and session webhooks (after a script declined). Also the two error
 * shapes of DingTalk: new-API `{requestid, code, message}` and oapi `{errcode, errmsg}`.
 */
import { randomBytes } from 'node:crypto';

import {
  isNonEmptyString,
  isRecord,
  newRequestId,
  tryParseJson,
  type SessionRecord,
} from './fake-dingtalk-state.js';
import type {
  ApiRequestView,
  RecordedRobotMessage,
  ResolvedFakeDingTalkOptions,
  ScriptedResponse,
} from './fake-dingtalk-types.js';

const SLIDING_WINDOW_MS = 60_000;
const MAX_OTO_USER_IDS = 20;

/** New-API error body `{requestid, code, message}` (§8). @internal */
export function apiError(status: number, code: string, message: string): ScriptedResponse {
  return { status, body: { requestid: newRequestId(), code, message } };
}

/** oapi-style answer: always HTTP 200, outcome in `errcode`. @internal */
export function oapiAnswer(errcode: number, errmsg: string): ScriptedResponse {
  return { status: 200, body: { errcode, errmsg } };
}

/**
 * Answer of `oToMessages/batchSend` (`oto`) or `groupMessages/send` (`group`) for a caller with a valid
 * token; `accepted` is the message to record when it was sent. `clientId` is the only valid robotCode.
 * @internal
 */
export function robotSendAnswer(
  view: ApiRequestView,
  kind: 'oto' | 'group',
  clientId: string,
): { answer: ScriptedResponse; accepted: RecordedRobotMessage | undefined } {
  const rejected = (code: string, message: string): { answer: ScriptedResponse; accepted: undefined } => ({
    answer: apiError(400, code, message),
    accepted: undefined,
  });
  const body = isRecord(view.body) ? view.body : {};
  const robotCode = body['robotCode'];
  if (!isNonEmptyString(robotCode)) return rejected('invalidParameter.robotCode.empty', 'robotCode 为空');
  // Not a documented server check; it catches code that confuses robotCode with other ids.
  if (robotCode !== clientId) return rejected('invalidParameter.robotCode.invalid', 'robotCode 不合法');
  if (kind === 'oto') {
    const userIds = body['userIds'];
    if (!Array.isArray(userIds) || userIds.length === 0) {
      return rejected('invalidParameter.userIds.empty', 'userIds 为空');
    }
    if (userIds.length > MAX_OTO_USER_IDS || !userIds.every(isNonEmptyString)) {
      return rejected('invalidParameter.userIds.invalid', 'userIds 不合法');
    }
  } else if (!isNonEmptyString(body['openConversationId'])) {
    return rejected('invalidParameter.openConversationId.invalid', 'openConversationId 不合法');
  }
  const msgKey = body['msgKey'];
  const msgParam = body['msgParam'];
  const decoded = typeof msgParam === 'string' ? tryParseJson(msgParam) : { ok: false as const };
  if (!isNonEmptyString(msgKey) || !decoded.ok) {
    return rejected('invalidParameter', 'msgKey and msgParam (a JSON string) are required');
  }
  const processQueryKey = randomBytes(24).toString('base64');
  const accepted = { kind, body, msgKey, msgParam: decoded.value, processQueryKey, atMs: Date.now() };
  const responseBody =
    kind === 'oto'
      ? { processQueryKey, invalidStaffIdList: [], flowControlledStaffIdList: [] }
      : { processQueryKey };
  return { answer: { status: 200, body: responseBody }, accepted };
}

/**
 * Answer of a session-webhook post to `session` (`undefined` when unknown): expiry, body size, the
 * per-minute limit (counting this post into `session.postTimesMs`), then the message shape.
 * @internal
 */
export function sessionWebhookAnswer(
  view: ApiRequestView,
  isJson: boolean,
  bodyBytes: number,
  session: SessionRecord | undefined,
  options: Pick<ResolvedFakeDingTalkOptions, 'webhookMaxBodyBytes' | 'webhookMaxPostsPerMinute'>,
): ScriptedResponse {
  const nowMs = Date.now();
  if (session === undefined || nowMs >= session.expiresAtMs) return oapiAnswer(300001, 'session 不存在');
  if (bodyBytes > options.webhookMaxBodyBytes) {
    return oapiAnswer(460101, `消息内容过长，请保持大小在 ${options.webhookMaxBodyBytes}bytes 以内`);
  }
  const limit = options.webhookMaxPostsPerMinute;
  session.postTimesMs = session.postTimesMs.filter((atMs) => nowMs - atMs < SLIDING_WINDOW_MS);
  if (limit !== undefined && session.postTimesMs.length >= limit) {
    return oapiAnswer(130101, 'send too fast, exceed 20 times per minute');
  }
  session.postTimesMs.push(nowMs);
  if (!isJson || !isRecord(view.body)) return oapiAnswer(40035, '缺少参数 json');
  const problem = webhookShapeProblem(view.body);
  if (problem !== undefined) return oapiAnswer(40035, `缺少参数 ${problem}`);
  return oapiAnswer(0, 'ok');
}

/** Name of the first missing member of a session-webhook body, or `undefined` when the shape is valid. */
function webhookShapeProblem(body: Record<string, unknown>): string | undefined {
  const msgtype = body['msgtype'];
  if (!isNonEmptyString(msgtype)) return 'msgtype';
  const payload = body[msgtype];
  if (!isRecord(payload)) return msgtype;
  const required: Record<string, readonly string[]> = {
    text: ['content'],
    markdown: ['title', 'text'],
    actionCard: ['title', 'text'],
    link: ['title', 'text', 'messageUrl'],
    feedCard: [],
  };
  const fields = required[msgtype];
  if (fields === undefined) return 'msgtype';
  const missing = fields.find((field) => !isNonEmptyString(payload[field]));
  if (missing !== undefined) return `${msgtype}.${missing}`;
  if (msgtype === 'feedCard' && !Array.isArray(payload['links'])) return 'feedCard.links';
  return undefined;
}
