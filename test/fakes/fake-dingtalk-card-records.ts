/**
 * What tests see of the card half of the fake DingTalk (`fake-dingtalk-cards.ts`): recorded cards and
 * calls, script hooks, and canned faults shaped like DingTalk's.
 */
import { apiError } from './fake-dingtalk-answers.js';
import type { ApiRequestView, ScriptedResponse } from './fake-dingtalk-types.js';

/** The three card calls the fake serves. */
export type CardCallKind = 'create' | 'update' | 'streaming';

/** Public AI markdown card templates (§7.2), known to every fake. */
export const FAKE_AI_CARD_TEMPLATE_IDS = [
  '382e4302-551d-4880-bf29-a30acfab2e71.schema',
  '02fcf2f4-5e02-4a85-b672-46d1f715543e.schema',
] as const;

/** A template the fake accepts; `streamingKeys` are the variables `PUT /v1.0/card/streaming` may name. */
export interface FakeCardTemplate {
  readonly streamingKeys: readonly string[];
}

/** One space of a created card (`IM_ROBOT.<userId>` or `IM_GROUP.<openConversationId>`). */
export interface FakeCardSpace {
  readonly spaceType: 'IM_ROBOT' | 'IM_GROUP';
  readonly spaceId: string;
  readonly isDelivered: boolean;
  readonly errorMsg: string | undefined;
}

/** One accepted `PUT /v1.0/card/streaming`. A repeated `guid` is accepted but changes nothing. */
export interface RecordedCardStreaming {
  readonly key: string;
  readonly content: string;
  readonly isFull: boolean;
  readonly isFinalize: boolean;
  readonly isError: boolean;
  readonly guid: string;
  readonly isDuplicate: boolean;
  readonly atMs: number;
}

/** A card the fake created, with its whole history. */
export interface FakeCard {
  readonly outTrackId: string;
  readonly templateId: string;
  readonly spaces: readonly FakeCardSpace[];
  readonly createBody: Readonly<Record<string, unknown>>;
  /** Current variables: created data, then every instances PUT and streaming update applied. */
  readonly data: Readonly<Record<string, string>>;
  /** Current value of the template's first streaming key (`''` when unset). */
  readonly text: string;
  readonly flowStatus: string | undefined;
  /** Every `flowStatus` set, in order, the created one first. */
  readonly flowStatusHistory: readonly string[];
  /** Every value the first streaming key took, in order (create, instances PUTs, streaming). */
  readonly contentHistory: readonly string[];
  /** Every accepted call on this card, the create first. */
  readonly updates: readonly { readonly kind: CardCallKind; readonly body: unknown; readonly atMs: number }[];
  readonly streaming: readonly RecordedCardStreaming[];
  readonly finalizedKeys: ReadonlySet<string>;
  /** A streaming update set `isError`. */
  readonly isError: boolean;
}

/** Every card call, accepted, refused or scripted, in arrival order. */
export interface RecordedCardCall {
  readonly kind: CardCallKind;
  readonly outTrackId: string | undefined;
  readonly body: unknown;
  /** 0 when a script destroyed the socket. */
  readonly status: number;
  readonly response: unknown;
  readonly isScripted: boolean;
  readonly atMs: number;
}

/** What a card script sees: the request, its kind, and 1-based counters including this call. */
export interface CardRequestView extends ApiRequestView {
  readonly kind: CardCallKind;
  readonly outTrackId: string | undefined;
  readonly callNumber: number;
  readonly kindNumber: number;
}

/** Fault-injection hook for the card calls; `undefined` = default behaviour. */
export type CardScriptHandler = (
  request: CardRequestView,
) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

/** Canned card faults for scripts, shaped like DingTalk's (§7.2, §8). */
export const cardFaults = {
  qpsLimit: (): ScriptedResponse =>
    apiError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'QPS limit of this app exceeded'),
  tooManyRequests: (): ScriptedResponse => apiError(429, 'Throttling', 'too many requests'),
  permission: (scope = 'Card.Streaming.Write'): ScriptedResponse =>
    apiError(403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied', `没有调用该接口的权限: ${scope}`),
  templateInvalid: (): ScriptedResponse => apiError(400, 'param.cardTemplateIdInvalid', '卡片模板不存在'),
  serverError: (): ScriptedResponse => apiError(500, 'system.err', 'system error'),
} as const;
