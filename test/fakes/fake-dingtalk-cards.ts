/**
 * Card half of the fake DingTalk (reference §7.1–§7.2): `POST /v1.0/card/instances/createAndDeliver`,
 * `PUT /v1.0/card/instances` and `PUT /v1.0/card/streaming`, validated like the real API, with a
 * per-app QPS limit, scripted faults, and every call recorded per `outTrackId`.
 */
import { randomBytes } from 'node:crypto';

import { apiError } from './fake-dingtalk-answers.js';
import {
  cardFaults,
  FAKE_AI_CARD_TEMPLATE_IDS,
  type CardCallKind,
  type CardScriptHandler,
  type FakeCard,
  type FakeCardSpace,
  type FakeCardTemplate,
  type RecordedCardCall,
  type RecordedCardStreaming,
} from './fake-dingtalk-card-records.js';
import { isNonEmptyString, isRecord, type FakeDingTalkState } from './fake-dingtalk-state.js';
import type { ApiRequestView, ScriptedResponse } from './fake-dingtalk-types.js';

const QPS_WINDOW_MS = 1_000;
const OK_ANSWER: ScriptedResponse = { status: 200, body: { success: true, result: true } };

interface CardRecord extends FakeCard {
  data: Record<string, string>;
  text: string;
  flowStatus: string | undefined;
  flowStatusHistory: string[];
  contentHistory: string[];
  updates: { kind: CardCallKind; body: unknown; atMs: number }[];
  streaming: RecordedCardStreaming[];
  finalizedKeys: Set<string>;
  isError: boolean;
  readonly guids: Set<string>;
  readonly primaryKey: string;
}

/**
 * Cards of one fake. `isValidToken` is the fake's access-token check; the QPS limit counts the card
 * calls of the whole app it did not throttle, in a sliding second.
 * @internal
 */
export class FakeDingTalkCards {
  readonly calls: RecordedCardCall[] = [];
  readonly #state: FakeDingTalkState;
  readonly #isValidToken: (token: unknown) => boolean;
  readonly #cards = new Map<string, CardRecord>();
  readonly #templates = new Map<string, FakeCardTemplate>(
    FAKE_AI_CARD_TEMPLATE_IDS.map((id) => [id, { streamingKeys: ['msgContent'] }]),
  );
  readonly #failingSpaces = new Map<string, string>();
  readonly #kindCounts = new Map<CardCallKind, number>();
  #callCount = 0;
  #admittedAtMs: number[] = [];
  #qpsLimit: number | undefined;
  #script: CardScriptHandler | undefined;

  constructor(state: FakeDingTalkState, isValidToken: (token: unknown) => boolean) {
    this.#state = state;
    this.#isValidToken = isValidToken;
    this.#qpsLimit = state.options.cardQpsLimit;
  }

  /** Every card created so far, by `outTrackId`. */
  get instances(): ReadonlyMap<string, FakeCard> {
    return this.#cards;
  }

  /** The card created with `outTrackId`, if any. */
  get(outTrackId: string): FakeCard | undefined {
    return this.#cards.get(outTrackId);
  }

  /** Every call naming `outTrackId`, refused and scripted ones included. */
  callsFor(outTrackId: string): RecordedCardCall[] {
    return this.calls.filter((call) => call.outTrackId === outTrackId);
  }

  /** Accepts `templateId` from now on. @defaultValue streamingKeys `['msgContent']` */
  registerTemplate(templateId: string, template: FakeCardTemplate = { streamingKeys: ['msgContent'] }): void {
    this.#templates.set(templateId, template);
  }

  /** Refuses `templateId` from now on (`param.cardTemplateIdInvalid`), the public ones too. */
  unregisterTemplate(templateId: string): void {
    this.#templates.delete(templateId);
  }

  /** More than `limit` card calls in a sliding second answer 403 QpsLimit; `undefined` lifts the limit. */
  setQpsLimit(limit: number | undefined): void {
    this.#qpsLimit = limit;
  }

  /** Cards delivered to `spaceId` later are created but reported undelivered with `errorMsg` in a 200. */
  failDeliveryTo(spaceId: string, errorMsg = '机器人不在群内或无权限投放'): void {
    this.#failingSpaces.set(spaceId, errorMsg);
  }

  /** Scripts the card calls; a handler result of `undefined` keeps the default behaviour. */
  script(handler: CardScriptHandler | undefined): void {
    this.#script = handler;
  }

  /** Resolves with the first card for which `predicate` holds (e.g. `flowStatus === '3'`). */
  waitForCard(predicate: (card: FakeCard) => boolean, timeoutMs = 5_000): Promise<FakeCard> {
    return this.#state.waitFor(
      () => [...this.#cards.values()].find(predicate),
      timeoutMs,
      () => `a matching card (have ${this.#cards.size}, ${this.calls.length} card call(s))`,
    );
  }

  /** Answers one card call of `kind` (the route maps the path) and records it. */
  async handle(view: ApiRequestView, kind: CardCallKind): Promise<ScriptedResponse> {
    const body = isRecord(view.body) ? view.body : {};
    const outTrackId = isNonEmptyString(body['outTrackId']) ? body['outTrackId'] : undefined;
    // Numbered on arrival, so concurrent calls never share a number while a script awaits.
    const callNumber = ++this.#callCount;
    const kindNumber = (this.#kindCounts.get(kind) ?? 0) + 1;
    this.#kindCounts.set(kind, kindNumber);
    const scripted = await this.#script?.({ ...view, kind, outTrackId, callNumber, kindNumber });
    const answer = scripted ?? this.#answer(kind, body, view.headers['x-acs-dingtalk-access-token']);
    const status = 'destroySocket' in answer ? 0 : answer.status;
    const response = 'destroySocket' in answer ? undefined : answer.body;
    const isScripted = scripted !== undefined;
    this.calls.push({ kind, outTrackId, body: view.body, status, response, isScripted, atMs: Date.now() });
    return answer;
  }

  #answer(kind: CardCallKind, body: Record<string, unknown>, token: unknown): ScriptedResponse {
    if (!this.#isValidToken(token)) {
      return apiError(
        this.#state.options.invalidTokenStatus,
        'InvalidAuthentication',
        '不合法的access_token',
      );
    }
    const nowMs = Date.now();
    this.#admittedAtMs = this.#admittedAtMs.filter((atMs) => nowMs - atMs < QPS_WINDOW_MS);
    if (this.#qpsLimit !== undefined && this.#admittedAtMs.length >= this.#qpsLimit)
      return cardFaults.qpsLimit();
    this.#admittedAtMs.push(nowMs);
    const call = { kind, body, atMs: nowMs };
    if (kind === 'create') return this.#create(body, call);
    if (!isNonEmptyString(body['outTrackId']))
      return apiError(400, 'param.outTrackIdEmpty', 'outTrackId 为空');
    const card = this.#cards.get(body['outTrackId']);
    // Code invented: the real answer for an unknown outTrackId is undocumented.
    if (card === undefined) return apiError(400, 'param.outTrackIdNotExist', '卡片不存在');
    return kind === 'update' ? this.#update(card, body, call) : this.#stream(card, body, call);
  }

  #create(body: Record<string, unknown>, call: CardRecord['updates'][number]): ScriptedResponse {
    const templateId = body['cardTemplateId'];
    if (!isNonEmptyString(templateId)) return apiError(400, 'param.cardTemplateIdEmpty', '模板ID为空');
    const template = this.#templates.get(templateId);
    if (template === undefined) return apiError(400, 'param.cardTemplateIdInvalid', '卡片模板不存在');
    const outTrackId = body['outTrackId'];
    if (!isNonEmptyString(outTrackId)) return apiError(400, 'param.outTrackIdEmpty', 'outTrackId 为空');
    // Unverified against the real API; refusing catches a card created twice for one reply.
    if (this.#cards.has(outTrackId)) return apiError(400, 'param.outTrackIdDuplicated', 'outTrackId 已存在');
    const data = paramMapOf(body['cardData']);
    if (data === undefined) return invalidCardData();
    if (body['userIdType'] !== undefined && body['userIdType'] !== 1 && body['userIdType'] !== 2) {
      return apiError(400, 'param.userIdTypeInvalid', 'userIdType 不合法');
    }
    if (
      body['callbackType'] !== undefined &&
      body['callbackType'] !== 'STREAM' &&
      body['callbackType'] !== 'HTTP'
    ) {
      return apiError(400, 'param.callbackTypeInvalid', 'callbackType 不合法');
    }
    const spaces = this.#spacesOf(body);
    if (typeof spaces === 'string') return apiError(400, 'param.openSpaceModelInvalid', spaces);
    const primaryKey = template.streamingKeys[0] ?? 'msgContent';
    const card: CardRecord = {
      outTrackId,
      templateId,
      spaces,
      createBody: body,
      data: {},
      text: '',
      flowStatus: undefined,
      flowStatusHistory: [],
      contentHistory: [],
      updates: [],
      streaming: [],
      finalizedKeys: new Set(),
      isError: false,
      guids: new Set(),
      primaryKey,
    };
    applyData(card, data, true, call);
    this.#cards.set(outTrackId, card);
    const deliverResults = spaces.map((space) => ({
      spaceType: space.spaceType,
      spaceId: space.spaceId,
      success: space.isDelivered,
      ...(space.isDelivered
        ? { carrierId: randomBytes(12).toString('base64') }
        : { errorMsg: space.errorMsg }),
    }));
    return { status: 200, body: { success: true, result: { outTrackId, deliverResults } } };
  }

  /** The spaces of `openSpaceId` with their delivery outcome, or what is wrong with the request. */
  #spacesOf(body: Record<string, unknown>): FakeCardSpace[] | string {
    const openSpaceId = body['openSpaceId'];
    const prefix = 'dtv1.card//';
    if (!isNonEmptyString(openSpaceId) || !openSpaceId.startsWith(prefix)) return 'openSpaceId 不合法';
    const spaces: FakeCardSpace[] = [];
    for (const part of openSpaceId.slice(prefix.length).split(';')) {
      const match = /^(im_robot|im_group)\.(.+)$/i.exec(part);
      if (match?.[1] === undefined || match[2] === undefined) return `openSpaceId 不合法: ${part}`;
      const spaceType = match[1].toUpperCase() === 'IM_ROBOT' ? 'IM_ROBOT' : 'IM_GROUP';
      const model = body[spaceType === 'IM_ROBOT' ? 'imRobotOpenDeliverModel' : 'imGroupOpenDeliverModel'];
      if (!isRecord(model) || !isNonEmptyString(model['robotCode'])) return `${spaceType} 投放参数缺失`;
      if (spaceType === 'IM_ROBOT' && model['spaceType'] !== 'IM_ROBOT') return 'spaceType 必须为 IM_ROBOT';
      const errorMsg =
        model['robotCode'] === this.#state.options.clientId
          ? this.#failingSpaces.get(match[2])
          : 'robotCode 不合法';
      spaces.push({ spaceType, spaceId: match[2], isDelivered: errorMsg === undefined, errorMsg });
    }
    return spaces;
  }

  #update(
    card: CardRecord,
    body: Record<string, unknown>,
    call: CardRecord['updates'][number],
  ): ScriptedResponse {
    if (body['cardData'] === undefined) {
      if (body['privateData'] === undefined) return invalidCardData();
      card.updates.push(call);
      return OK_ANSWER;
    }
    const data = paramMapOf(body['cardData']);
    if (data === undefined) return invalidCardData();
    const options = body['cardUpdateOptions'];
    applyData(card, data, isRecord(options) && options['updateCardDataByKey'] === true, call);
    return OK_ANSWER;
  }

  #stream(
    card: CardRecord,
    body: Record<string, unknown>,
    call: CardRecord['updates'][number],
  ): ScriptedResponse {
    const { key, content, guid, isFull } = body;
    const template = this.#templates.get(card.templateId);
    // Code invented: DingTalk refuses keys the template does not mark as streaming, wording unknown.
    if (!isNonEmptyString(key) || !(template?.streamingKeys ?? [card.primaryKey]).includes(key)) {
      return apiError(400, 'param.streamingKeyInvalid', `key 不是模板的流式变量: ${String(key)}`);
    }
    if (typeof content !== 'string') return apiError(400, 'param.contentInvalid', 'content 必须为字符串');
    if (!isNonEmptyString(guid)) return apiError(400, 'param.guidEmpty', 'guid 为空');
    const flags = [isFull, body['isFinalize'] ?? false, body['isError'] ?? false];
    if (!flags.every((flag) => typeof flag === 'boolean')) {
      return apiError(400, 'param.invalid', 'isFull/isFinalize/isError 必须为布尔值');
    }
    const isDuplicate = card.guids.has(guid);
    const [full, isFinalize, isError] = flags as [boolean, boolean, boolean];
    card.streaming.push({
      key,
      content,
      isFull: full,
      isFinalize,
      isError,
      guid,
      isDuplicate,
      atMs: call.atMs,
    });
    card.updates.push(call);
    if (isDuplicate) return OK_ANSWER;
    card.guids.add(guid);
    const value = full ? content : `${card.data[key] ?? ''}${content}`;
    card.data[key] = value;
    if (key === card.primaryKey) {
      card.text = value;
      card.contentHistory.push(value);
    }
    if (isFinalize) card.finalizedKeys.add(key);
    if (isError) card.isError = true;
    return OK_ANSWER;
  }
}

function invalidCardData(): ScriptedResponse {
  return apiError(400, 'param.cardDataInvalid', 'cardData.cardParamMap 的值必须为字符串');
}

/** `cardData.cardParamMap` when it is an object of strings (missing = empty), else `undefined`. */
function paramMapOf(cardData: unknown): Record<string, string> | undefined {
  if (cardData === undefined) return {};
  if (!isRecord(cardData)) return undefined;
  const map = cardData['cardParamMap'] ?? {};
  if (!isRecord(map) || !Object.values(map).every((value) => typeof value === 'string')) return undefined;
  return map as Record<string, string>;
}

function applyData(
  card: CardRecord,
  data: Record<string, string>,
  byKey: boolean,
  call: CardRecord['updates'][number],
): void {
  card.data = byKey ? { ...card.data, ...data } : { ...data };
  card.updates.push(call);
  const flowStatus = data['flowStatus'];
  if (flowStatus !== undefined) card.flowStatusHistory.push(flowStatus);
  card.flowStatus = card.data['flowStatus'];
  const text = data[card.primaryKey];
  if (text !== undefined) card.contentHistory.push(text);
  card.text = card.data[card.primaryKey] ?? '';
}
