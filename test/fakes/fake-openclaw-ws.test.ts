/**
 * Keeps the fake honest: drives it with a bare `ws` client through the scenarios of
 * test/fixtures/openclaw-ws (captured from the real gateway) and checks that every frame the fake
 * sends has a counterpart of the same kind in the captures, using only fields the real gateway uses.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import {
  fixtureFrames,
  loadFixture,
  operatorConnectParams,
  type CapturedFrame,
} from '../helpers/openclaw-ws-fixtures.js';
import { FAKE_OPENCLAW_WS_TOKEN, FakeOpenClawWs, type FakeOpenClawWsOptions } from './fake-openclaw-ws.js';

type Json = Record<string, unknown>;

const FIXTURE_NAMES = readdirSync(new URL('../fixtures/openclaw-ws/', import.meta.url))
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length));

/**
 * Fields the fake sends that no capture shows, as `<kind> <path>`, each with the reason. Empty: keep
 * it that way unless a scenario cannot be captured.
 */
const UNCAPTURED_PATHS = new Set<string>();

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `event:chat:delta`, `event:agent:item:tool:start`, `res:chat.send:ok`, … */
function kindOf(frame: Json, methodsById: ReadonlyMap<string, string>): string {
  const payload = isJson(frame['payload']) ? frame['payload'] : {};
  if (frame['type'] === 'res') {
    return `res:${methodsById.get(String(frame['id'])) ?? '?'}:${frame['ok'] === true ? 'ok' : 'error'}`;
  }
  const event = String(frame['event']);
  if (event === 'chat') return `event:chat:${String(payload['state'])}`;
  if (event !== 'agent') return `event:${event}`;
  const data = isJson(payload['data']) ? payload['data'] : {};
  const stream = String(payload['stream']);
  if (stream === 'item') return `event:agent:item:${String(data['kind'])}:${String(data['phase'])}`;
  if (stream === 'tool' || stream === 'lifecycle') return `event:agent:${stream}:${String(data['phase'])}`;
  return `event:agent:${stream}`;
}

/** Every key path of a JSON value (`a.b`, `a[].c`). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, `${prefix}[]`));
  if (!isJson(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...keyPaths(child, path)];
  });
}

/** Frame kind → key paths seen, over a list of frames in both directions. */
function shapes(frames: readonly CapturedFrame[]): Map<string, Set<string>> {
  const methodsById = new Map<string, string>();
  for (const { dir, frame } of frames) {
    if (dir === 'out' && typeof frame['id'] === 'string')
      methodsById.set(frame['id'], String(frame['method']));
  }
  const result = new Map<string, Set<string>>();
  for (const { dir, frame } of frames) {
    if (dir !== 'in' || frame['type'] === undefined) continue;
    const kind = kindOf(frame, methodsById);
    const paths = result.get(kind) ?? new Set<string>();
    for (const path of keyPaths(frame)) paths.add(path);
    result.set(kind, paths);
  }
  return result;
}

function capturedShapes(): Map<string, Set<string>> {
  const merged = new Map<string, Set<string>>();
  for (const name of FIXTURE_NAMES) {
    const data = loadFixture(name);
    const lists = Array.isArray(data)
      ? [data as CapturedFrame[]]
      : Object.values(data as Json).filter((value): value is CapturedFrame[] => Array.isArray(value));
    for (const list of lists) {
      for (const [kind, paths] of shapes(list)) {
        const target = merged.get(kind) ?? new Set<string>();
        for (const path of paths) target.add(path);
        merged.set(kind, target);
      }
    }
  }
  return merged;
}

/** A bare protocol client recording frames like the capture script does. */
class RawClient {
  readonly frames: CapturedFrame[] = [];
  readonly #socket: WebSocket;
  #next = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      this.frames.push({ dir: 'in', atMs: 0, frame: JSON.parse(data.toString('utf8')) as Json });
    });
  }

  static async open(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    // Listening before 'open': the challenge may come in the same tick.
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  async request(method: string, params: Json): Promise<Json> {
    const id = `t${this.#next++}`;
    const frame = { type: 'req', id, method, params };
    this.frames.push({ dir: 'out', atMs: 0, frame });
    this.#socket.send(JSON.stringify(frame));
    return this.waitFor((candidate) => candidate['type'] === 'res' && candidate['id'] === id);
  }

  async waitFor(predicate: (frame: Json) => boolean): Promise<Json> {
    for (let waited = 0; waited < 5_000; waited += 5) {
      const found = this.frames.find((entry) => entry.dir === 'in' && predicate(entry.frame));
      if (found !== undefined) return found.frame;
      await sleep(5);
    }
    throw new Error('frame did not arrive');
  }

  close(): void {
    this.#socket.terminate();
  }
}

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: FakeOpenClawWsOptions = {}): Promise<FakeOpenClawWs> {
  const fake = await FakeOpenClawWs.start(options);
  cleanups.push(() => fake.close());
  return fake;
}

async function client(
  fake: FakeOpenClawWs,
  token = FAKE_OPENCLAW_WS_TOKEN,
  caps = ['tool-events'],
): Promise<RawClient> {
  const raw = await RawClient.open(fake.wsUrl);
  cleanups.push(() => {
    raw.close();
  });
  await raw.waitFor((frame) => frame['event'] === 'connect.challenge');
  await raw.request(
    'connect',
    operatorConnectParams(token, ['operator.read', 'operator.write', 'operator.admin'], caps),
  );
  return raw;
}

function isTerminal(runId: string) {
  return (frame: Json): boolean => {
    const payload = isJson(frame['payload']) ? frame['payload'] : {};
    return (
      frame['event'] === 'chat' &&
      payload['runId'] === runId &&
      ['final', 'error', 'aborted'].includes(String(payload['state']))
    );
  };
}

/** Drives the fake through the captured scenarios; returns every frame the clients saw. */
async function exerciseFake(): Promise<CapturedFrame[][]> {
  const fake = await start({ tickIntervalMs: 50 });
  fake.onSend((send) => {
    if (send.message.includes('#tool')) {
      return {
        preamble: 'Let me read.',
        tools: [{ name: 'read', title: 'Read from /a', args: { path: '/a' }, result: 'A' }],
        chunks: ['Done.'],
      };
    }
    if (send.message.includes('#think')) return { thinking: 'Hmm.', chunks: ['Thought.'] };
    if (send.message.includes('#media')) {
      return {
        chunks: ['Here.'],
        media: [{ fileName: 'pic.png', mimeType: 'image/png', bytes: Buffer.from('png') }],
      };
    }
    if (send.message.includes('#slow')) return { chunks: ['a', 'b', 'c', 'd'], chunkDelayMs: 40 };
    if (send.message.includes('#fail')) return { error: 'model failed' };
    return { chunks: ['Hello', ' there.'] };
  });
  const main = await client(fake);
  const observer = await client(fake, FAKE_OPENCLAW_WS_TOKEN, []);
  const run = async (
    message: string,
    sessionKey = `dingtalk:t:${randomUUID()}`,
  ): Promise<{ runId: string; sessionKey: string }> => {
    const answer = await main.request('chat.send', { sessionKey, message, idempotencyKey: randomUUID() });
    const runId = String((answer['payload'] as Json)['runId']);
    await main.waitFor(isTerminal(runId));
    return { runId, sessionKey };
  };

  const plain = await run('hello #plain');
  await main.request('chat.history', { sessionKey: plain.sessionKey, limit: 20 });
  await run('read #tool');
  await run('think #think');
  const media = await run('picture #media');
  const listArtifacts = async (): Promise<Json[]> => {
    const list = await main.request('artifacts.list', {
      sessionKey: media.sessionKey,
      runId: media.runId,
      messageRole: 'assistant',
    });
    return (list['payload'] as { artifacts: Json[] }).artifacts;
  };
  // Right after `final` the list is still empty (as on the real gateway).
  expect(await listArtifacts()).toEqual([]);
  await sleep(300);
  const [artifact] = await listArtifacts();
  await main.request('artifacts.download', { sessionKey: media.sessionKey, artifactId: artifact?.['id'] });
  await run('oops #fail');

  const slowKey = `dingtalk:t:${randomUUID()}`;
  const idempotencyKey = randomUUID();
  const slowSend = { sessionKey: slowKey, message: 'long #slow', idempotencyKey };
  await Promise.all([main.request('chat.send', slowSend), main.request('chat.send', slowSend)]);
  await main.request('chat.history', { sessionKey: slowKey, limit: 20 });
  await main.request('agent.wait', { runId: idempotencyKey, timeoutMs: 5_000 });
  await main.waitFor(isTerminal(idempotencyKey));
  await main.request('chat.send', slowSend);

  const abortKey = `dingtalk:t:${randomUUID()}`;
  const abortRun = randomUUID();
  await main.request('chat.send', { sessionKey: abortKey, message: 'long #slow', idempotencyKey: abortRun });
  await main.waitFor(
    (frame) =>
      (frame['payload'] as Json | undefined)?.['state'] === 'delta' &&
      (frame['payload'] as Json)['runId'] === abortRun,
  );
  await main.request('chat.abort', { sessionKey: abortKey, runId: abortRun });
  await main.request('chat.abort', { sessionKey: abortKey, runId: abortRun });

  await main.request('sessions.reset', { key: plain.sessionKey, reason: 'reset' });
  await main.request('chat.send', { sessionKey: 'dingtalk:t:bad', message: 'no key' });
  const limited = await start({ grantScopes: ['operator.read', 'operator.write'] });
  const writer = await client(limited);
  await writer.request('sessions.reset', { key: plain.sessionKey, reason: 'reset' });
  const wrong = await RawClient.open(fake.wsUrl);
  cleanups.push(() => {
    wrong.close();
  });
  await wrong.waitFor((frame) => frame['event'] === 'connect.challenge');
  await wrong.request('connect', operatorConnectParams('wrong', ['operator.read'], []));
  const starting = await start({ refuseStartingConnects: 1 });
  const refused = await RawClient.open(starting.wsUrl);
  cleanups.push(() => {
    refused.close();
  });
  await refused.waitFor((frame) => frame['event'] === 'connect.challenge');
  await refused.request('connect', operatorConnectParams(FAKE_OPENCLAW_WS_TOKEN, ['operator.read'], []));
  await main.waitFor((frame) => frame['event'] === 'tick');

  return [main.frames, observer.frames, writer.frames, wrong.frames, refused.frames];
}

/** {@link shapes} of several clients' frames (request ids are per client). */
function shapesOf(lists: readonly (readonly CapturedFrame[])[]): Map<string, Set<string>> {
  const merged = new Map<string, Set<string>>();
  for (const list of lists) {
    for (const [kind, paths] of shapes(list))
      merged.set(kind, new Set([...(merged.get(kind) ?? []), ...paths]));
  }
  return merged;
}

describe('FakeOpenClawWs speaks the captured protocol', () => {
  it('sends only frame kinds and fields the real gateway was seen sending', async () => {
    const captured = capturedShapes();
    const fake = shapesOf(await exerciseFake());

    const unknownKinds = [...fake.keys()].filter((kind) => !captured.has(kind));
    expect(unknownKinds).toEqual([]);
    const unknownPaths = [...fake].flatMap(([kind, paths]) =>
      [...paths]
        .filter((path) => !captured.get(kind)?.has(path) && !UNCAPTURED_PATHS.has(`${kind} ${path}`))
        .map((path) => `${kind} ${path}`),
    );
    expect(unknownPaths).toEqual([]);
  });

  it('covers the frame kinds the transport relies on', async () => {
    const fake = shapesOf(await exerciseFake());

    const missing = [
      'res:connect:ok',
      'res:connect:error',
      'event:connect.challenge',
      'event:tick',
      'res:chat.send:ok',
      'res:chat.send:error',
      'event:chat:delta',
      'event:chat:final',
      'event:chat:error',
      'event:chat:aborted',
      'event:agent:item:tool:start',
      'event:agent:item:tool:end',
      'event:agent:tool:result',
      'event:agent:thinking',
      'res:chat.history:ok',
      'res:agent.wait:ok',
      'res:chat.abort:ok',
      'res:sessions.reset:ok',
      'res:sessions.reset:error',
      'res:artifacts.list:ok',
      'res:artifacts.download:ok',
    ].filter((kind) => !fake.has(kind));
    expect(missing).toEqual([]);
  });

  it('has captures to compare with', () => {
    expect(fixtureFrames('turn-tool').length).toBeGreaterThan(10);
    expect(FIXTURE_NAMES).toContain('device-pairing');
  });
});
