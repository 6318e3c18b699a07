import { randomUUID } from 'node:crypto';

import { DingTalkApiError, DingTalkTransportError } from '../../errors.js';
import type { JsonMethod } from './http-client.js';
import { answerFields, callOpenApi, checkSuccess, type OpenApiContext } from './openapi-call.js';

/** Path (under `apiBase`), method and endpoint name (for errors and metrics) of each card call. */
export const CARD_ENDPOINTS = {
  createAndDeliver: {
    method: 'POST',
    path: '/v1.0/card/instances/createAndDeliver',
    endpoint: 'card/createAndDeliver',
  },
  streaming: { method: 'PUT', path: '/v1.0/card/streaming', endpoint: 'card/streaming' },
  instances: { method: 'PUT', path: '/v1.0/card/instances', endpoint: 'card/instances' },
} as const satisfies Record<string, { method: JsonMethod; path: string; endpoint: string }>;

/**
 * Public AI markdown card templates (dingtalk-protocol.md §7.2): the Python SDK's and the one of
 * DingTalk's own OpenClaw connector. Both stream into {@link AI_CARD_STREAMING_KEY}.
 */
export const PUBLIC_AI_CARD_TEMPLATE_IDS = [
  '382e4302-551d-4880-bf29-a30acfab2e71.schema',
  '02fcf2f4-5e02-4a85-b672-46d1f715543e.schema',
] as const;

/** The streaming variable of the public AI card templates. */
export const AI_CARD_STREAMING_KEY = 'msgContent';

/** `flowStatus` values of the AI card templates (§7.2); card values are always strings. */
export const AI_CARD_FLOW_STATUS = {
  processing: '1',
  inputing: '2',
  finished: '3',
  executing: '4',
  failed: '5',
} as const;

/** Where a card goes: a DM with an org user (`senderStaffId`) or a group conversation. */
export type CardTarget =
  | { readonly kind: 'dm'; readonly userId: string }
  | { readonly kind: 'group'; readonly openConversationId: string };

/** What every card call needs of one account. */
export type CardApiContext = OpenApiContext;

/** Card variables; DingTalk wants every value as a string (objects as JSON strings). */
export type CardParamMap = Readonly<Record<string, string>>;

export interface CreateAndDeliverCardOptions extends CardApiContext {
  readonly robotCode: string;
  readonly templateId: string;
  /** Our idempotent id of the card; every later update names it. */
  readonly outTrackId: string;
  readonly target: CardTarget;
  readonly cardParamMap: CardParamMap;
}

/** A card that DingTalk created and delivered to its one space. */
export interface CardDelivery {
  readonly outTrackId: string;
  /** DingTalk's id of the message carrying the card, when it reported one. */
  readonly carrierId: string | undefined;
}

export interface StreamCardContentOptions extends CardApiContext {
  readonly outTrackId: string;
  /** A variable the template marks as streaming. @defaultValue {@link AI_CARD_STREAMING_KEY} */
  readonly key?: string | undefined;
  readonly content: string;
  /** `true` replaces the variable, `false` appends to it. @defaultValue true */
  readonly isFull?: boolean | undefined;
  /** Ends the stream of this key. @defaultValue false */
  readonly isFinalize?: boolean | undefined;
  /** Shows the template's error state. @defaultValue false */
  readonly isError?: boolean | undefined;
  /** Unique per request. @defaultValue a random UUID */
  readonly guid?: string | undefined;
}

export interface UpdateCardOptions extends CardApiContext {
  readonly outTrackId: string;
  readonly cardParamMap: CardParamMap;
  /** `true` changes only the given variables, `false` replaces the card data. @defaultValue true */
  readonly updateByKey?: boolean | undefined;
}

/** What a card failure means for the caller; see {@link classifyCardError}. */
export type CardErrorClass = 'throttled' | 'permission' | 'template' | 'transient' | 'other';

/** The `openSpaceId` and space/deliver models of `target` (§7.1). */
export function cardSpaceOf(robotCode: string, target: CardTarget): Record<string, unknown> {
  return target.kind === 'dm'
    ? {
        openSpaceId: `dtv1.card//IM_ROBOT.${target.userId}`,
        imRobotOpenSpaceModel: { supportForward: true },
        imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode },
      }
    : {
        openSpaceId: `dtv1.card//IM_GROUP.${target.openConversationId}`,
        imGroupOpenSpaceModel: { supportForward: true },
        imGroupOpenDeliverModel: { robotCode },
      };
}

/**
 * Creates a card from `templateId` and delivers it to `target` in one call
 * (`POST /v1.0/card/instances/createAndDeliver`, callbacks over Stream, `userIdType` 1).
 *
 * Throws `DingTalkApiError` for refusals, including a 200 whose `deliverResults` reports the space as
 * failed (`apiCode` `deliverFailed`, DingTalk's `errorMsg` as message, non-retryable), and
 * `DingTalkTransportError` when DingTalk is unreachable. An invalid access token is refreshed once.
 */
export async function createAndDeliverCard(options: CreateAndDeliverCardOptions): Promise<CardDelivery> {
  const body = {
    cardTemplateId: options.templateId,
    outTrackId: options.outTrackId,
    cardData: { cardParamMap: options.cardParamMap },
    callbackType: 'STREAM',
    userIdType: 1,
    ...cardSpaceOf(options.robotCode, options.target),
  };
  const { endpoint } = CARD_ENDPOINTS.createAndDeliver;
  const answer = await callCardApi(options, 'createAndDeliver', body);
  const fields = checkSuccess(endpoint, answer);
  const result = answerFields(fields['result']);
  const deliverResults = Array.isArray(result['deliverResults']) ? result['deliverResults'] : [];
  let carrierId: string | undefined;
  for (const entry of deliverResults) {
    const space = answerFields(entry);
    if (space['success'] === false) {
      const errorMsg = space['errorMsg'];
      throw new DingTalkApiError({
        endpoint,
        status: 200,
        apiCode: 'deliverFailed',
        apiMessage: typeof errorMsg === 'string' && errorMsg !== '' ? errorMsg : 'card delivery failed',
        body: JSON.stringify(answer),
        retryable: false,
      });
    }
    if (typeof space['carrierId'] === 'string') carrierId ??= space['carrierId'];
  }
  const outTrackId = result['outTrackId'];
  return { outTrackId: typeof outTrackId === 'string' ? outTrackId : options.outTrackId, carrierId };
}

/**
 * Updates one streaming variable of a card (`PUT /v1.0/card/streaming`). Failures as for
 * {@link createAndDeliverCard}; a 200 with `success: false` is a non-retryable `DingTalkApiError`.
 */
export async function streamCardContent(options: StreamCardContentOptions): Promise<void> {
  const body = {
    outTrackId: options.outTrackId,
    guid: options.guid ?? randomUUID(),
    key: options.key ?? AI_CARD_STREAMING_KEY,
    content: options.content,
    isFull: options.isFull ?? true,
    isFinalize: options.isFinalize ?? false,
    isError: options.isError ?? false,
  };
  checkSuccess(CARD_ENDPOINTS.streaming.endpoint, await callCardApi(options, 'streaming', body));
}

/**
 * Updates a card's variables (`PUT /v1.0/card/instances`), by key unless `updateByKey` is `false`.
 * Failures as for {@link streamCardContent}.
 */
export async function updateCard(options: UpdateCardOptions): Promise<void> {
  const body = {
    outTrackId: options.outTrackId,
    cardData: { cardParamMap: options.cardParamMap },
    cardUpdateOptions: { updateCardDataByKey: options.updateByKey ?? true },
  };
  checkSuccess(CARD_ENDPOINTS.instances.endpoint, await callCardApi(options, 'instances', body));
}

// Throttling (§7.2): `code` containing QpsLimit, usually on a 403 Forbidden.AccessDenied.
const QPS_LIMIT = /qpslimit/i;
// Missing card scopes (§7.1) are named in the code or message of the refusal.
const CARD_SCOPES = /card\.(instance|streaming)\.write/i;
const TEMPLATE_CODE = /^param\.cardTemplateId/i;
// "模板不存在" (template does not exist), escaped: the bundle must stay ASCII (scripts/build.mjs).
const TEMPLATE_MISSING = /template.*(not.?(found|exist)|invalid)|\u6a21\u677f\u4e0d\u5b58\u5728/i;

/**
 * What a card call's failure means, so the caller can fall back to plain messages:
 * - `throttled`: HTTP 429, or a code/message containing `QpsLimit` (back off the card APIs);
 * - `permission`: a code/message naming `Card.Instance.Write` or `Card.Streaming.Write`, or any other
 *   403 (`Forbidden.AccessDenied…`);
 * - `template`: a `param.cardTemplateId…` code or a "template not found" answer;
 * - `transient`: DingTalk unreachable, or HTTP 5xx;
 * - `other`: anything else, including non-DingTalk errors.
 */
export function classifyCardError(error: unknown): CardErrorClass {
  if (error instanceof DingTalkTransportError) return 'transient';
  if (!(error instanceof DingTalkApiError)) return 'other';
  const text = `${error.apiCode ?? ''} ${error.message}`;
  if (error.status === 429 || QPS_LIMIT.test(text)) return 'throttled';
  if (CARD_SCOPES.test(text)) return 'permission';
  if (TEMPLATE_CODE.test(error.apiCode ?? '') || TEMPLATE_MISSING.test(text)) return 'template';
  if (error.status === 403) return 'permission';
  if (error.status >= 500) return 'transient';
  return 'other';
}

function callCardApi(
  options: CardApiContext,
  call: keyof typeof CARD_ENDPOINTS,
  body: unknown,
): Promise<unknown> {
  return callOpenApi(options, CARD_ENDPOINTS[call], body);
}
