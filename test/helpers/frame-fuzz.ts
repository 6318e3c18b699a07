/**
 * fast-check arbitraries for hostile DingTalk Stream frames: valid envelopes (bot-message CALLBACKs,
 * other CALLBACK topics, EVENTs, SYSTEM pings and unknown SYSTEM topics) with fields dropped,
 * replaced by wrong types or huge values, unknown keys added, then the JSON text itself truncated,
 * spliced or sprinkled with binary; plus arbitrary text and raw bytes. Frames carry
 * {@link ID_PLACEHOLDER} where their messageId goes, replaced by a unique id per push
 * ({@link materializeFrame}), so every ACK can be matched to its frame.
 *
 * SYSTEM `disconnect` is never generated: it is a legitimate request to replace the connection.
 */
import fc from 'fast-check';

/** Stands for the messageId in generated frames until {@link materializeFrame}. */
export const ID_PLACEHOLDER = '@@MSGID@@';

const BOT_TOPIC = '/v1.0/im/bot/messages/get';

/** One generated frame: a text frame, or a binary frame (bytes are decoded as UTF-8 by the client). */
export interface FuzzFrame {
  readonly payload: string | Uint8Array;
  readonly binary: boolean;
  /** How it was made, for failure messages. */
  readonly recipe: string;
}

type Json = Record<string, unknown>;
type Path = readonly string[];

type Mutation =
  | { readonly op: 'drop'; readonly path: Path }
  | { readonly op: 'replace'; readonly path: Path; readonly value: unknown }
  | { readonly op: 'add'; readonly path: Path; readonly key: string; readonly value: unknown };

type TextMutation =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number };

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? { a: value } : [value];
  return value;
}

/** Values of the wrong type, extreme values and shapes that stress parsers. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.constantFrom(null, true, false, 0, -0, -1, 1e308, -1e308, 2 ** 53 + 1, '', ' '),
    weight: 4,
  },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.string({ maxLength: 30 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 2 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '%00', '\u0000', '\ud800'),
    weight: 1,
  },
  { arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
  { arbitrary: fc.integer({ min: 50, max: 3_000 }).map((depth) => nested(depth, 'deep')), weight: 1 },
  { arbitrary: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }), weight: 1 },
  {
    arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 2 }), { maxKeys: 4 }),
    weight: 1,
  },
);

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'messageId', 'type', 'data', 'headers', 'text'),
  fc.string({ maxLength: 12 }),
);

/** `data` of a bot-message CALLBACK as an object; its keys are what mutations aim at. */
function botFields(template: Json): Path[] {
  return [
    ...Object.keys(template).map((key) => ['data', key]),
    ['data', 'text', 'content'],
    ['data', 'content'],
    ['data', 'content', 'richText'],
    ['data', 'atUsers', '0'],
  ];
}

const ENVELOPE_PATHS: readonly Path[] = [
  ['type'],
  ['specVersion'],
  ['headers'],
  ['data'],
  ['headers', 'messageId'],
  ['headers', 'topic'],
  ['headers', 'contentType'],
  ['headers', 'time'],
  ['headers', 'connectionId'],
];

function envelopes(botTemplate: Json): fc.Arbitrary<{ name: string; frame: Json }> {
  const headers = (topic: string): Json => ({
    appId: 'a1b2c3',
    connectionId: 'conn-1',
    contentType: 'application/json',
    messageId: ID_PLACEHOLDER,
    time: String(Date.now()),
    topic,
  });
  return fc.constantFrom(
    {
      name: 'bot callback',
      frame: { specVersion: '1.0', type: 'CALLBACK', headers: headers(BOT_TOPIC), data: botTemplate },
    },
    {
      name: 'bot callback',
      frame: { specVersion: '1.0', type: 'CALLBACK', headers: headers(BOT_TOPIC), data: botTemplate },
    },
    {
      name: 'other callback',
      frame: {
        specVersion: '1.0',
        type: 'CALLBACK',
        headers: headers('/v1.0/card/instances/callback'),
        data: { a: 1 },
      },
    },
    {
      name: 'event',
      frame: {
        specVersion: '1.0',
        type: 'EVENT',
        headers: { ...headers('*'), eventType: 'chat_update_title' },
        data: { x: 1 },
      },
    },
    {
      name: 'ping',
      frame: { specVersion: '1.0', type: 'SYSTEM', headers: headers('ping'), data: '{"opaque":"o-1"}' },
    },
    {
      name: 'system topic',
      frame: { specVersion: '1.0', type: 'SYSTEM', headers: headers('KEEPALIVE'), data: '{}' },
    },
  );
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Applies one mutation in place; paths that no longer exist are skipped. */
function applyMutation(frame: Json, mutation: Mutation): void {
  const { path } = mutation;
  let parent: unknown = frame;
  for (const key of path.slice(0, mutation.op === 'add' ? path.length : -1)) {
    if (typeof parent !== 'object' || parent === null) return;
    parent = (parent as Json)[key];
  }
  if (typeof parent !== 'object' || parent === null) return;
  const target = parent as Json;
  switch (mutation.op) {
    case 'drop':
      Reflect.deleteProperty(target, path.at(-1)!);
      return;
    case 'replace':
      target[path.at(-1)!] = mutation.value;
      return;
    case 'add':
      Object.defineProperty(target, mutation.key, {
        value: mutation.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return;
  }
}

function applyTextMutation(text: string, mutation: TextMutation): string {
  const at = Math.min(mutation.at, text.length);
  switch (mutation.op) {
    case 'truncate':
      return text.slice(0, at);
    case 'insert':
      return `${text.slice(0, at)}${mutation.text}${text.slice(at)}`;
    case 'delete':
      return `${text.slice(0, at)}${text.slice(at + mutation.length)}`;
    case 'duplicate':
      return `${text.slice(0, at + mutation.length)}${text.slice(at)}`;
  }
}

function mutationArbitrary(botTemplate: Json): fc.Arbitrary<Mutation> {
  const path = fc.constantFrom(...ENVELOPE_PATHS, ...botFields(botTemplate));
  return fc.oneof(
    fc.record({ op: fc.constant('drop' as const), path }),
    fc.record({ op: fc.constant('replace' as const), path, value: junk }),
    fc.record({
      op: fc.constant('add' as const),
      path: path.map((p) => p.slice(0, -1)),
      key: extraKey,
      value: junk,
    }),
  );
}

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat({ max: 2_000 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat({ max: 2_000 }),
    text: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 16 }),
      fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '\u0000', '\ud800', '\uffff', '"messageId":"'),
    ),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat({ max: 2_000 }),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat({ max: 2_000 }),
    length: fc.integer({ min: 1, max: 40 }),
  }),
);

/** How `data` ends up in the envelope: as DingTalk sends it (a JSON string), or wrongly. */
const dataEncoding = fc.constantFrom(
  'string',
  'string',
  'string',
  'object',
  'double-string',
  'broken-string',
);

function encodeData(frame: Json, encoding: string): void {
  const data = frame['data'];
  if (data === undefined || typeof data === 'string') return;
  switch (encoding) {
    case 'object':
      return;
    case 'double-string':
      frame['data'] = JSON.stringify(JSON.stringify(data));
      return;
    case 'broken-string':
      frame['data'] = JSON.stringify(data).slice(0, -1);
      return;
    default:
      frame['data'] = JSON.stringify(data);
  }
}

/** A valid envelope with structural mutations, optional text mutations, sent as text or binary. */
function mutatedFrame(botTemplate: Json): fc.Arbitrary<FuzzFrame> {
  return fc
    .record({
      base: envelopes(botTemplate),
      mutations: fc.array(mutationArbitrary(botTemplate), { minLength: 0, maxLength: 3 }),
      encoding: dataEncoding,
      textMutations: fc.oneof(
        { arbitrary: fc.constant([] as TextMutation[]), weight: 3 },
        { arbitrary: fc.array(textMutation, { minLength: 1, maxLength: 2 }), weight: 1 },
      ),
      binary: fc.boolean(),
    })
    .map(({ base, mutations, encoding, textMutations, binary }) => {
      const frame = clone(base.frame);
      for (const mutation of mutations) applyMutation(frame, mutation);
      encodeData(frame, encoding);
      let text = JSON.stringify(frame);
      for (const mutation of textMutations) text = applyTextMutation(text, mutation);
      const recipe = `${base.name}; ${mutations.map((m) => `${m.op} ${m.path.join('.')}`).join(', ') || 'intact'}; data ${encoding}; text ${textMutations.map((m) => m.op).join(',') || 'intact'}`;
      return { payload: binary ? Buffer.from(text, 'utf8') : text, binary, recipe };
    });
}

/** Arbitrary text, text that looks a bit like a frame, and raw bytes. */
const garbageFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  fc.string({ maxLength: 200 }).map((text) => ({ payload: text, binary: false, recipe: 'string' })),
  fc
    .string({ unit: 'binary', maxLength: 200 })
    .map((text) => ({ payload: text, binary: false, recipe: 'unicode string' })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ payload: bytes, binary: true, recipe: 'bytes' })),
  fc.string({ maxLength: 60 }).map((tail) => ({
    payload: `{"headers":{"messageId":"${ID_PLACEHOLDER}"${tail}`,
    binary: false,
    recipe: 'broken JSON with an id',
  })),
  fc.anything({ maxDepth: 3 }).map((value) => ({
    payload: (JSON.stringify(value) as string | undefined) ?? 'undefined',
    binary: false,
    recipe: 'any JSON',
  })),
);

/** Mutated frames (mostly) and garbage; `botTemplate` is a valid bot-message `data` object. */
export function fuzzFrameArbitrary(botTemplate: Json): fc.Arbitrary<FuzzFrame> {
  return fc.oneof(
    { arbitrary: mutatedFrame(botTemplate), weight: 4 },
    { arbitrary: garbageFrame, weight: 1 },
  );
}

/** The frame as it goes on the wire, with `messageId` in place of {@link ID_PLACEHOLDER}. */
export function materializeFrame(frame: FuzzFrame, messageId: string): FuzzFrame {
  if (typeof frame.payload !== 'string' && !frame.binary) return frame;
  const text =
    typeof frame.payload === 'string' ? frame.payload : Buffer.from(frame.payload).toString('latin1');
  if (!text.includes(ID_PLACEHOLDER)) return frame;
  if (typeof frame.payload === 'string') {
    return { ...frame, payload: frame.payload.replaceAll(ID_PLACEHOLDER, messageId) };
  }
  const replaced = Buffer.from(
    Buffer.from(frame.payload).toString('latin1').replaceAll(ID_PLACEHOLDER, messageId),
    'latin1',
  );
  return { ...frame, payload: replaced };
}

/** The text the client decodes from a frame (ws delivers UTF-8; lone surrogates become U+FFFD). */
export function decodedText(frame: FuzzFrame): string {
  return Buffer.from(frame.payload).toString('utf8');
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Independent of frames.ts on purpose: what a careful reader of the frame would call its id.
const BROKEN_JSON_ID = /"messageId"\s*:\s*"([^"\\]{1,200})"/;

/**
 * The messageId a client can take from the frame: `headers.messageId` of a JSON object when it is a
 * non-empty string, else (for text that is not JSON) the first `"messageId":"…"` without escapes.
 */
export function extractableMessageId(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return BROKEN_JSON_ID.exec(text)?.[1];
  }
  if (!isRecord(json)) return undefined;
  const headers = json['headers'];
  if (!isRecord(headers)) return undefined;
  const id = Object.hasOwn(headers, 'messageId') ? headers['messageId'] : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Whether the frame is a SYSTEM disconnect (a legitimate request to reconnect). */
export function isDisconnectFrame(text: string): boolean {
  try {
    const json: unknown = JSON.parse(text);
    return (
      isRecord(json) &&
      json['type'] === 'SYSTEM' &&
      isRecord(json['headers']) &&
      json['headers']['topic'] === 'disconnect'
    );
  } catch {
    return false;
  }
}
