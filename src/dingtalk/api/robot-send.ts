import { DingTalkApiError, ERROR_CODES, GatewayError } from '../../errors.js';
import type { OutgoingMessage } from '../outgoing-message.js';
import type { AccessTokenCache } from './access-token.js';
import type { DingTalkHttp } from './http-client.js';
import { answerFields, callOpenApi, type OpenApiOperation } from './openapi-call.js';

/** Largest `msgParam` DingTalk accepts on the group API (dingtalk-protocol.md §5.2), in UTF-8 bytes. */
export const MAX_MSG_PARAM_BYTES = 15_000;

/** Where a proactive message goes: a DM to an org user (`senderStaffId`) or a group conversation. */
export type ProactiveTarget =
  | { readonly kind: 'dm'; readonly userId: string }
  | { readonly kind: 'group'; readonly openConversationId: string };

/** What {@link sendProactive} needs of one account. */
export interface ProactiveSender {
  /** New-style API origin without a trailing slash. */
  readonly apiBase: string;
  readonly robotCode: string;
  readonly tokens: AccessTokenCache;
  readonly http: DingTalkHttp;
}

/** Path (under `apiBase`) and endpoint name (for errors and metrics) of each target kind. */
export const PROACTIVE_ENDPOINTS = {
  dm: { method: 'POST', path: '/v1.0/robot/oToMessages/batchSend', endpoint: 'robot/oToMessages/batchSend' },
  group: { method: 'POST', path: '/v1.0/robot/groupMessages/send', endpoint: 'robot/groupMessages/send' },
} as const satisfies Record<string, OpenApiOperation>;

/** The JSON body of a proactive send; `msgParam` is itself a JSON string. */
export type ProactiveBody =
  | {
      readonly robotCode: string;
      readonly userIds: readonly string[];
      readonly msgKey: ProactiveMsgKey;
      readonly msgParam: string;
    }
  | {
      readonly robotCode: string;
      readonly openConversationId: string;
      readonly msgKey: ProactiveMsgKey;
      readonly msgParam: string;
    };

export type ProactiveMsgKey =
  'sampleMarkdown' | 'sampleText' | 'sampleImageMsg' | 'sampleFile' | 'sampleAudio' | 'sampleVideo';

/** `msgKey` and `msgParam` (before JSON encoding) for each kind of message (reference §5.3). */
export function messageTemplate(message: OutgoingMessage): {
  msgKey: ProactiveMsgKey;
  param: Record<string, string>;
} {
  switch (message.kind) {
    case 'markdown':
      return { msgKey: 'sampleMarkdown', param: { title: message.title, text: message.text } };
    case 'text':
      return { msgKey: 'sampleText', param: { content: message.text } };
    case 'image':
      return { msgKey: 'sampleImageMsg', param: { photoURL: message.mediaId } };
    case 'file':
      return {
        msgKey: 'sampleFile',
        param: { mediaId: message.mediaId, fileName: message.fileName, fileType: message.fileType },
      };
    case 'audio':
      return {
        msgKey: 'sampleAudio',
        param: { mediaId: message.mediaId, duration: String(message.durationMs) },
      };
    case 'video':
      return {
        msgKey: 'sampleVideo',
        param: {
          duration: String(message.durationSeconds),
          videoMediaId: message.mediaId,
          videoType: message.videoType,
          ...(message.coverMediaId === undefined ? {} : { picMediaId: message.coverMediaId }),
        },
      };
  }
}

/** A message too big for the proactive APIs; refused before anything is sent. Split it and try again. */
export class ProactiveMessageTooLargeError extends GatewayError {
  readonly code = ERROR_CODES.DINGTALK_API;
  readonly retryable = false;
  readonly endpoint: string;
  readonly msgParamBytes: number;

  constructor(endpoint: string, msgParamBytes: number) {
    super(
      `DingTalk ${endpoint} refused locally: msgParam is ${msgParamBytes} bytes, above ${MAX_MSG_PARAM_BYTES}`,
    );
    this.endpoint = endpoint;
    this.msgParamBytes = msgParamBytes;
  }
}

/**
 * The request body for one message (see {@link messageTemplate}). Throws {@link ProactiveMessageTooLargeError} when `msgParam` exceeds
 * {@link MAX_MSG_PARAM_BYTES}.
 */
export function proactiveBody(
  robotCode: string,
  target: ProactiveTarget,
  message: OutgoingMessage,
): ProactiveBody {
  const { msgKey, param } = messageTemplate(message);
  const msgParam = JSON.stringify(param);
  const msgParamBytes = Buffer.byteLength(msgParam, 'utf8');
  if (msgParamBytes > MAX_MSG_PARAM_BYTES) {
    throw new ProactiveMessageTooLargeError(PROACTIVE_ENDPOINTS[target.kind].endpoint, msgParamBytes);
  }
  return target.kind === 'dm'
    ? { robotCode, userIds: [target.userId], msgKey, msgParam }
    : { robotCode, openConversationId: target.openConversationId, msgKey, msgParam };
}

/**
 * Sends one message through the robot OpenAPI (the fallback when a session webhook has expired) and
 * returns DingTalk's `processQueryKey` (`''` if a 200 carried none). An invalid access token is
 * refreshed and the send retried once; nothing else is retried here.
 *
 * Throws {@link ProactiveMessageTooLargeError} before any request; `DingTalkApiError` for refusals,
 * including a batchSend 200 that lists the user as invalid (`apiCode` `invalidStaffIdList`,
 * non-retryable) or flow-controlled (`apiCode` `flowControlled`, retryable); `DingTalkTransportError`
 * when DingTalk is unreachable.
 */
export async function sendProactive(
  sender: ProactiveSender,
  target: ProactiveTarget,
  message: OutgoingMessage,
  signal?: AbortSignal,
): Promise<string> {
  const body = proactiveBody(sender.robotCode, target, message);
  const operation = PROACTIVE_ENDPOINTS[target.kind];
  const { endpoint } = operation;
  const answer = await callOpenApi({ ...sender, signal }, operation, body);
  const fields = answerFields(answer);
  if (target.kind === 'dm') checkBatchSendLists(endpoint, fields);
  const processQueryKey = fields['processQueryKey'];
  return typeof processQueryKey === 'string' ? processQueryKey : '';
}

/**
 * batchSend reports per-user failures inside a 200. Only one user is sent to, so any entry is ours
 * (compared by count, not by id, in case DingTalk normalizes the id it echoes).
 */
function checkBatchSendLists(endpoint: string, fields: Record<string, unknown>): void {
  const failure = (apiCode: string, apiMessage: string, retryable: boolean): DingTalkApiError =>
    new DingTalkApiError({
      endpoint,
      status: 200,
      apiCode,
      apiMessage,
      body: JSON.stringify(fields),
      retryable,
    });
  if (nonEmptyList(fields['invalidStaffIdList'])) {
    throw failure('invalidStaffIdList', 'the user id is not a staff id of this organization', false);
  }
  if (nonEmptyList(fields['flowControlledStaffIdList'])) {
    throw failure('flowControlled', 'messages to this user are flow-controlled', true);
  }
}

function nonEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}
