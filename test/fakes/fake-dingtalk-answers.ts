/**
 * Default answers of the fake DingTalk's message APIs, decided from the request alone: the robot send
 * APIs (after the token check) and session webhooks (after a script declined). Also the two error
 * shapes of DingTalk: new-API `{requestid, code, message}` and oapi `{errcode, errmsg}`, and the writer
 * that puts any answer on the wire.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

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
  mediaTypeOf: (mediaId: string) => string | undefined = () => undefined,
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
  const mediaProblem = mediaMsgParamProblem(msgKey, decoded.value, mediaTypeOf);
  if (mediaProblem !== undefined) return rejected('invalidParameter', `msgParam 不合法: ${mediaProblem}`);
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

/**
 * What is wrong with the `msgParam` of a media msgKey (§5.3), or `undefined` when it is fine or the key
 * is not a media one. Media ids must be ones this fake issued, of the right upload type (any type for
 * `sampleFile`); `photoURL` may also be an http(s) URL. Durations may be numbers or digit strings.
 * @internal
 */
export function mediaMsgParamProblem(
  msgKey: string,
  msgParam: unknown,
  mediaTypeOf: (mediaId: string) => string | undefined,
): string | undefined {
  const rules = MEDIA_MSG_PARAMS[msgKey];
  if (rules === undefined) return undefined;
  if (!isRecord(msgParam)) return 'not an object';
  for (const [field, rule] of Object.entries(rules)) {
    const value = msgParam[field];
    if (value === undefined && rule.startsWith('?')) continue;
    const expected = rule.replace(/^\?/, '');
    if (expected === 'duration') {
      if (!(typeof value === 'number' && value >= 0) && !(typeof value === 'string' && /^\d+$/.test(value)))
        return `${field} must be a duration`;
    } else if (!isNonEmptyString(value)) {
      return `${field} is required`;
    } else if (expected === 'photo' && /^https?:\/\//.test(value)) {
      continue;
    } else if (expected !== 'string') {
      const type = mediaTypeOf(value);
      const wanted = expected === 'photo' ? 'image' : expected;
      if (type === undefined) return `${field} is not a media_id issued by media/upload`;
      if (wanted !== 'media' && type !== wanted) return `${field} is a ${type} media_id, not ${wanted}`;
    }
  }
  return undefined;
}

// Field rules per media msgKey: 'string', 'duration', 'photo' (image media_id or URL), a media type, or
// 'media' (any issued media_id); a leading '?' marks an optional field.
const MEDIA_MSG_PARAMS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  sampleImageMsg: { photoURL: 'photo' },
  sampleFile: { mediaId: 'media', fileName: 'string', fileType: 'string' },
  sampleAudio: { mediaId: 'voice', duration: 'duration' },
  sampleVideo: { duration: 'duration', videoMediaId: 'video', videoType: 'string', picMediaId: '?image' },
};

/**
 * Writes `answer` to `res` (see `ScriptedResponse` for the raw, chunked and reset variants) and resolves
 * with the number of body bytes written. `sleep` must die with the fake.
 * @internal
 */
export async function writeAnswer(
  res: ServerResponse,
  answer: Exclude<ScriptedResponse, { destroySocket: true }>,
  sleep: (delayMs: number) => Promise<void>,
): Promise<number> {
  const isRaw = answer.rawBody !== undefined;
  const payload = isRaw
    ? Buffer.from(answer.rawBody ?? '')
    : Buffer.from(answer.body === undefined ? '' : JSON.stringify(answer.body));
  res.writeHead(answer.status, {
    'content-type': isRaw ? 'application/octet-stream' : 'application/json;charset=utf-8',
    'x-acs-request-id': newRequestId(),
    ...answer.headers,
  });
  const { chunkBytes, chunkDelayMs, destroyAfterBytes } = answer;
  if (chunkBytes === undefined && destroyAfterBytes === undefined) {
    res.end(payload);
    return payload.length;
  }
  const limit = Math.min(payload.length, destroyAfterBytes ?? payload.length);
  const step = Math.max(1, chunkBytes ?? limit);
  let sent = 0;
  while (sent < limit && !res.destroyed) {
    const piece = payload.subarray(sent, Math.min(sent + step, limit));
    sent += piece.length;
    if (!res.write(piece)) await drainOrClose(res);
    if (chunkDelayMs !== undefined && sent < limit) await sleep(chunkDelayMs);
  }
  if (destroyAfterBytes !== undefined) res.destroy();
  else if (!res.destroyed) res.end();
  return sent;
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
