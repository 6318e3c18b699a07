/**
 * Captures the WebSocket gateway protocol of the REAL OpenClaw (the pinned release) as fixtures for
 * test/fakes/fake-openclaw-ws.ts: `npx tsx test/contract/capture-openclaw-ws.ts [outDir]`
 * (default test/fixtures/openclaw-ws; needs scripts/openclaw-peer.sh to have run).
 *
 * It starts OpenClaw with the fake model, speaks the protocol with a bare `ws` client (not the
 * gateway's transport, so the frames are OpenClaw's, not our interpretation) and saves, per scenario,
 * every frame in both directions in order. The gateway token, ticket and recovery values and the
 * run folder are redacted. Scenarios: handshake, plain reply, a turn where the model calls a tool,
 * reasoning, a `MEDIA:` reply with its artifacts, idempotent resend, abort, a dropped socket and the
 * run resumed through `chat.history`, session reset (with and without admin), a model failure and a
 * wrong token.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import WebSocket from 'ws';

import { operatorConnectParams } from '../helpers/openclaw-ws-fixtures.js';
import { DeviceIdentity } from '../../src/openclaw/ws/device-identity.js';
import { FAKE_REASONING_MODEL_ID, FakeModel, type ModelReply, type ModelRequest } from './fake-model.js';
import { OpenClawPeer } from './openclaw-peer.js';
import { OPENCLAW_VERSION } from './openclaw-version.js';

type Json = Record<string, unknown>;

/** One frame as captured: direction, milliseconds since the scenario started, the parsed JSON. */
interface CapturedFrame {
  readonly dir: 'out' | 'in';
  readonly atMs: number;
  readonly frame: Json;
}

/** A 1×1 PNG (transparent). */
const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const TURN_TIMEOUT_MS = 120_000;
const SLOW_PIECES = 24;
const SLOW_PIECE_DELAY_MS = 400;

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A bare protocol client that records every frame it sends and receives. */
class RawClient {
  readonly frames: CapturedFrame[] = [];
  readonly #socket: WebSocket;
  readonly #startedMs = performance.now();
  readonly #pending = new Map<string, (frame: Json) => void>();
  #nextId = 1;
  closeCode: number | undefined;
  closeReason = '';

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as Json;
      this.frames.push({ dir: 'in', atMs: this.#elapsedMs(), frame });
      if (frame['type'] === 'res' && typeof frame['id'] === 'string') {
        // `agent` answers twice for one id; keep the resolver for the second answer too.
        this.#pending.get(frame['id'])?.(frame);
      }
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
    });
  }

  #elapsedMs(): number {
    return Math.round(performance.now() - this.#startedMs);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const socket = new WebSocket(url, { headers });
    const client = new RawClient(socket);
    await new Promise<void>((resolvePromise, reject) => {
      socket.once('open', () => resolvePromise());
      socket.once('error', reject);
    });
    return client;
  }

  /** Waits for the challenge, sends `connect` (built from the challenge payload), returns the `res` frame. */
  async handshake(params: Json | ((challenge: Json) => Json)): Promise<Json> {
    const challenge = await this.waitFor((frame) => frame['event'] === 'connect.challenge', 10_000);
    return this.request('connect', typeof params === 'function' ? params(payloadOf(challenge)) : params);
  }

  send(frame: Json): void {
    this.frames.push({ dir: 'out', atMs: this.#elapsedMs(), frame });
    this.#socket.send(JSON.stringify(frame));
  }

  request(method: string, params: Json, timeoutMs = 30_000): Promise<Json> {
    const id = `r${this.#nextId++}-${randomUUID().slice(0, 8)}`;
    return new Promise<Json>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.#pending.set(id, (frame) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolvePromise(frame);
      });
      this.send({ type: 'req', id, method, params });
    });
  }

  /** The first received frame from index `from` on that matches. */
  async waitFor(predicate: (frame: Json) => boolean, timeoutMs = TURN_TIMEOUT_MS, from = 0): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find((entry) => entry.dir === 'in' && predicate(entry.frame));
      if (found !== undefined) return found.frame;
      if (this.closeCode !== undefined)
        throw new Error(`socket closed ${this.closeCode} ${this.closeReason}`);
      if (Date.now() > deadline) throw new Error('frame did not arrive in time');
      await sleep(25);
    }
  }

  /** Resolves once the socket closed (or after `timeoutMs`). */
  async closed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined && Date.now() < deadline) await sleep(25);
  }

  terminate(): void {
    this.#socket.terminate();
  }

  close(): void {
    this.#socket.close(1000, 'done');
  }
}

function payloadOf(frame: Json): Json {
  return isJson(frame['payload']) ? frame['payload'] : {};
}

function isRunEvent(runId: string, ...states: string[]) {
  return (frame: Json): boolean => {
    const payload = payloadOf(frame);
    return (
      frame['type'] === 'event' &&
      frame['event'] === 'chat' &&
      payload['runId'] === runId &&
      states.includes(String(payload['state']))
    );
  };
}

const FULL_SCOPES = ['operator.read', 'operator.write', 'operator.admin'] as const;

/** Replaces every occurrence of the secrets and the run folder in a JSON document. */
function redact(value: unknown, secrets: readonly [string, string][]): unknown {
  if (typeof value === 'string') {
    let text = value;
    for (const [secret, replacement] of secrets) text = text.split(secret).join(replacement);
    text = text.replace(/mediaTicket=[A-Za-z0-9._~%-]+/g, 'mediaTicket=<redacted-ticket>');
    text = text.replace(/(__openclaw__\/cap\/)[A-Za-z0-9_-]+/g, '$1<redacted>');
    return text;
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, secrets));
  if (isJson(value)) {
    const result: Json = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] =
        (key === 'recoveryScope' || key === 'deviceToken' || key === 'token') && typeof item === 'string'
          ? '<redacted>'
          : redact(item, secrets);
    }
    return result;
  }
  return value;
}

/** The model's answers, chosen by a `#tag` in the turn text. */
function modelScript(helloPath: string, picturePath: string) {
  return (request: ModelRequest): string | ModelReply | undefined => {
    const turn = request.turnText;
    if (turn.includes('#tool')) {
      if (request.toolResults.length === 0) {
        return {
          text: 'Let me read the file.',
          toolCalls: [{ name: 'read', arguments: { path: helloPath } }],
        };
      }
      return `Tool said: ${request.toolResults[0]?.text.trim() ?? ''}`;
    }
    if (turn.includes('#think'))
      return { reasoning: 'Thinking about it... done.', text: 'Thought and answered.' };
    if (turn.includes('#media')) return `Here is the image.\n\nMEDIA:${picturePath}`;
    if (turn.includes('#slow')) {
      const lines = Array.from({ length: SLOW_PIECES }, (_, index) => `line ${index + 1} of a slow answer\n`);
      return { text: lines.join(''), pieceCount: SLOW_PIECES, pieceDelayMs: SLOW_PIECE_DELAY_MS };
    }
    if (turn.includes('#fail')) return { failStatus: 500 };
    if (turn.includes('#plain')) return 'FAKE-LLM reply: hello from DingTalk, 你好.';
    return undefined;
  };
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'test/fixtures/openclaw-ws');
  mkdirSync(outDir, { recursive: true });
  const model = await FakeModel.start();
  // Loopback connections that send X-Forwarded-For count as remote: the device pairing path.
  const peer = await OpenClawPeer.start({
    modelBaseUrl: model.baseUrl,
    gatewayOverrides: { trustedProxies: ['127.0.0.1'] },
  });
  const url = peer.baseUrl.replace(/^http/, 'ws');
  const secrets: [string, string][] = [
    [peer.token, '<gateway-token>'],
    [peer.runDir, '<run dir>'],
    [peer.baseUrl, 'http://127.0.0.1:<port>'],
  ];
  const workspace = join(peer.runDir, 'state', 'workspace');
  mkdirSync(workspace, { recursive: true });
  const helloPath = join(workspace, 'hello.txt');
  writeFileSync(helloPath, 'hello from a file read by the agent tool\n');
  const picturePath = join(workspace, 'pic.png');
  writeFileSync(picturePath, PNG_1X1);
  model.respond(modelScript(helloPath, picturePath));
  const log = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  log(`OpenClaw ${OPENCLAW_VERSION} up at ${peer.baseUrl} after ${peer.startupMs} ms`);

  const save = (name: string, data: unknown): void => {
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(redact(data, secrets), null, 2)}\n`);
    log(`saved ${name}.json`);
  };
  const session = (name: string): string => `dingtalk:capture:${name}:${randomUUID().slice(0, 8)}`;
  const clients: RawClient[] = [];
  let startingAnswer: CapturedFrame[] | undefined;
  const connect = async (
    scopes: readonly string[] = FULL_SCOPES,
    caps: readonly string[] = ['tool-events'],
  ): Promise<RawClient> => {
    for (let attempt = 1; ; attempt += 1) {
      const client = await RawClient.open(url);
      clients.push(client);
      const hello = await client.handshake(operatorConnectParams(peer.token, scopes, caps));
      if (hello['ok'] === true) return client;
      // Right after /health answers, connect may be refused with UNAVAILABLE "gateway starting".
      const error = isJson(hello['error']) ? hello['error'] : {};
      if (error['retryable'] !== true || attempt > 60)
        throw new Error(`connect failed: ${JSON.stringify(hello)}`);
      await client.closed(2_000);
      startingAnswer ??= [...client.frames];
      startingAnswer.push({
        dir: 'in',
        atMs: -1,
        frame: { closeCode: client.closeCode, closeReason: client.closeReason },
      });
      client.terminate();
      await sleep(Number(error['retryAfterMs'] ?? 500));
    }
  };

  /** Sends one turn and waits for its terminal `chat` event; returns the runId. */
  const runTurn = async (client: RawClient, sessionKey: string, message: string, extra: Json = {}) => {
    const idempotencyKey = randomUUID();
    const res = await client.request('chat.send', { sessionKey, message, idempotencyKey, ...extra });
    const runId = String(payloadOf(res)['runId']);
    await client.waitFor(isRunEvent(runId, 'final', 'error', 'aborted'));
    // Trailing agent events (lifecycle end) may follow the chat final by a few ms.
    await sleep(500);
    return { runId, idempotencyKey, res };
  };

  try {
    // 1. Handshake.
    const main = await connect();
    save('handshake', main.frames);
    if (startingAnswer !== undefined) save('connect-while-starting', startingAnswer);

    // 2. Plain reply (the first turn also prepares the agent workspace: slow).
    let mark = main.frames.length;
    const plainKey = session('plain');
    const plain = await runTurn(main, plainKey, 'hello from dingtalk #plain');
    save('turn-plain', main.frames.slice(mark));
    mark = main.frames.length;
    await main.request('chat.history', { sessionKey: plainKey, limit: 20 });
    save('history-after-plain', main.frames.slice(mark));

    // 3. Tool call: the model calls `read` once, then answers with the tool's output.
    mark = main.frames.length;
    const observer = await connect(FULL_SCOPES, ['tool-events']);
    const observerMark = observer.frames.length;
    const toolKey = session('tool');
    await runTurn(main, toolKey, 'please read the file #tool');
    save('turn-tool', main.frames.slice(mark));
    save('turn-tool-observer', observer.frames.slice(observerMark));
    observer.close();
    mark = main.frames.length;
    await main.request('chat.history', { sessionKey: toolKey, limit: 20 });
    save('history-after-tool', main.frames.slice(mark));

    // 3b. The same without the tool-events cap.
    const nocap = await connect(FULL_SCOPES, []);
    mark = nocap.frames.length;
    await runTurn(nocap, session('toolnocap'), 'please read the file #tool');
    save('turn-tool-without-cap', nocap.frames.slice(mark));
    nocap.close();

    // 4. Reasoning, with a per-turn thinking level.
    mark = main.frames.length;
    await runTurn(main, session('think-refused'), 'think first #think', { thinking: 'high' });
    save('turn-thinking-unsupported', main.frames.slice(mark));
    const thinkKey = session('think');
    mark = main.frames.length;
    await main.request('sessions.patch', { key: thinkKey, model: `fake/${FAKE_REASONING_MODEL_ID}` });
    await runTurn(main, thinkKey, 'think first #think', { thinking: 'high' });
    save('turn-thinking', main.frames.slice(mark));
    const thinkRequest = model.turnsMentioning('think first #think').at(-1);
    const upstream = isJson(thinkRequest?.body) ? thinkRequest.body : {};
    save('turn-thinking-upstream', {
      reasoning_effort: upstream['reasoning_effort'],
      model: upstream['model'],
    });

    // 5. MEDIA: reply, then its artifacts.
    mark = main.frames.length;
    const mediaKey = session('media');
    const media = await runTurn(main, mediaKey, 'send me a picture #media');
    const list = await main.request('artifacts.list', {
      sessionKey: mediaKey,
      runId: media.runId,
      messageRole: 'assistant',
    });
    const artifacts = payloadOf(list)['artifacts'];
    const first = Array.isArray(artifacts) && isJson(artifacts[0]) ? artifacts[0] : undefined;
    let download: Json | undefined;
    if (first !== undefined) {
      download = await main.request('artifacts.download', {
        sessionKey: mediaKey,
        artifactId: first['id'],
      });
    }
    const downloadUrl = download === undefined ? undefined : payloadOf(download)['url'];
    let fetched: Json = { skipped: true };
    if (typeof downloadUrl === 'string') {
      const response = await fetch(new URL(downloadUrl, peer.baseUrl));
      const bytes = Buffer.from(await response.arrayBuffer());
      fetched = {
        status: response.status,
        contentType: response.headers.get('content-type'),
        contentLength: response.headers.get('content-length'),
        identicalBytes: bytes.equals(PNG_1X1),
        byteLength: bytes.length,
      };
      const bare = await fetch(new URL(downloadUrl.split('?')[0] ?? '', peer.baseUrl));
      fetched['withoutTicketStatus'] = bare.status;
      await bare.body?.cancel();
    }
    save('turn-media-artifacts', { frames: main.frames.slice(mark), httpGet: fetched });
    mark = main.frames.length;
    await main.request('chat.history', { sessionKey: mediaKey, limit: 20 });
    save('history-after-media', main.frames.slice(mark));
    // artifacts.list of a run without media.
    mark = main.frames.length;
    await main.request('artifacts.list', {
      sessionKey: plainKey,
      runId: plain.runId,
      messageRole: 'assistant',
    });
    save('artifacts-list-empty', main.frames.slice(mark));

    // 6. Idempotency: the same key twice at once, then once more after the run ended.
    mark = main.frames.length;
    const dupKey = session('dup');
    const dupIdem = randomUUID();
    const dupParams = { sessionKey: dupKey, message: 'say it once #plain', idempotencyKey: dupIdem };
    const [firstSend, secondSend] = await Promise.all([
      main.request('chat.send', dupParams),
      main.request('chat.send', dupParams),
    ]);
    const dupRunId = String(payloadOf(firstSend)['runId'] ?? payloadOf(secondSend)['runId']);
    await main.waitFor(isRunEvent(dupRunId, 'final', 'error', 'aborted'));
    await sleep(500);
    await main.request('chat.send', dupParams);
    await sleep(500);
    save('idempotency', main.frames.slice(mark));

    // 7. Abort with chat.abort while the answer streams.
    mark = main.frames.length;
    const abortKey = session('abort');
    const abortSend = await main.request('chat.send', {
      sessionKey: abortKey,
      message: 'a long answer please #slow',
      idempotencyKey: randomUUID(),
    });
    const abortRunId = String(payloadOf(abortSend)['runId']);
    await main.waitFor(isRunEvent(abortRunId, 'delta'), TURN_TIMEOUT_MS, mark);
    await main.request('chat.abort', { sessionKey: abortKey, runId: abortRunId });
    await main.waitFor(isRunEvent(abortRunId, 'aborted', 'final', 'error'), TURN_TIMEOUT_MS, mark);
    await sleep(800);
    save('turn-abort', main.frames.slice(mark));
    // Aborting again, when nothing runs.
    mark = main.frames.length;
    await main.request('chat.abort', { sessionKey: abortKey, runId: abortRunId });
    save('abort-idle', main.frames.slice(mark));

    // 8. The socket drops mid-run; a new connection resumes through chat.history.
    const dropping = await connect();
    mark = dropping.frames.length;
    const resumeKey = session('resume');
    const resumeSend = await dropping.request('chat.send', {
      sessionKey: resumeKey,
      message: 'a long answer please #slow',
      idempotencyKey: randomUUID(),
    });
    const resumeRunId = String(payloadOf(resumeSend)['runId']);
    try {
      await dropping.waitFor(
        (frame) =>
          isRunEvent(resumeRunId, 'delta')(frame) && JSON.stringify(payloadOf(frame)).includes('line 3'),
        TURN_TIMEOUT_MS,
        mark,
      );
    } catch (error) {
      save('resume-failed', dropping.frames.slice(mark));
      throw error;
    }
    const beforeDrop = dropping.frames.slice(mark);
    dropping.terminate();
    await sleep(1_500);
    const resumed = await connect();
    const resumedMark = resumed.frames.length;
    try {
      await resumed.request('chat.history', { sessionKey: resumeKey, limit: 20 });
      // Sending the same idempotencyKey again after reconnect (what a retry would do).
      await resumed.request('chat.send', {
        sessionKey: resumeKey,
        message: 'a long answer please #slow',
        idempotencyKey: resumeRunId,
      });
      await resumed.waitFor(
        isRunEvent(resumeRunId, 'final', 'error', 'aborted'),
        SLOW_PIECES * SLOW_PIECE_DELAY_MS + 20_000,
        resumedMark,
      );
      await sleep(500);
    } catch (error) {
      log(`resume: ${String(error)}`);
    }
    await resumed.request('chat.history', { sessionKey: resumeKey, limit: 20 });
    await resumed.request('agent.wait', { runId: resumeRunId, timeoutMs: 1_000 });
    save('resume-after-drop', { beforeDrop, afterReconnect: resumed.frames.slice(resumedMark) });

    // 9. Session reset: with admin, then without.
    mark = main.frames.length;
    await main.request('sessions.reset', { key: plainKey, reason: 'reset' });
    await main.request('chat.history', { sessionKey: plainKey, limit: 20 });
    await main.request('sessions.reset', { key: session('never-used'), reason: 'reset' });
    save('sessions-reset', main.frames.slice(mark));
    const writer = await connect(['operator.read', 'operator.write'], ['tool-events']);
    mark = writer.frames.length;
    await writer.request('sessions.reset', { key: plainKey, reason: 'reset' });
    save('sessions-reset-forbidden', writer.frames.slice(mark));
    writer.close();

    // 9b. An explicit agent-qualified, mixed-case key with agentId: how OpenClaw canonicalises it.
    mark = main.frames.length;
    const mixedKey = `agent:main:DingTalk:Capture:MixedCase:${randomUUID().slice(0, 8)}`;
    await runTurn(main, mixedKey, 'hello from dingtalk #plain', { agentId: 'main' });
    await main.request('sessions.reset', { key: mixedKey, reason: 'reset' });
    await main.request('chat.history', { sessionKey: mixedKey, limit: 5 });
    save('agent-qualified-key', main.frames.slice(mark));

    // 9c. Device identity: on loopback (backend client, no pairing), then "remote" (X-Forwarded-For):
    // pairing required, approved over the admin connection, device token issued and used alone.
    const identity = DeviceIdentity.loadOrCreate(join(peer.runDir, 'capture-device.json'));
    const deviceParams =
      (token: string | undefined, deviceToken: string | undefined) =>
      (challenge: Json): Json => {
        const params = operatorConnectParams(token ?? '', FULL_SCOPES, ['tool-events']);
        const auth: Json = {};
        if (token !== undefined) auth['token'] = token;
        if (deviceToken !== undefined) auth['deviceToken'] = deviceToken;
        params['auth'] = auth;
        params['device'] = identity.prove({
          clientId: 'gateway-client',
          clientMode: 'backend',
          role: 'operator',
          scopes: FULL_SCOPES,
          signedAtMs: Number(challenge['ts']),
          nonce: String(challenge['nonce']),
          token: token ?? deviceToken ?? '',
          platform: 'linux',
          deviceFamily: '',
        });
        return params;
      };
    const remoteHeaders = { 'x-forwarded-for': '203.0.113.5' };
    const localDevice = await RawClient.open(url);
    clients.push(localDevice);
    await localDevice.handshake(deviceParams(peer.token, undefined));
    localDevice.close();
    const firstRemote = await RawClient.open(url, remoteHeaders);
    clients.push(firstRemote);
    const pairing = await firstRemote.handshake(deviceParams(peer.token, undefined));
    await firstRemote.closed();
    const pairingError = isJson(pairing['error']) ? pairing['error'] : {};
    const pairingDetails = isJson(pairingError['details']) ? pairingError['details'] : {};
    mark = main.frames.length;
    await main.request('device.pair.approve', { requestId: pairingDetails['requestId'] });
    const approval = main.frames.slice(mark);
    const paired = await RawClient.open(url, remoteHeaders);
    clients.push(paired);
    const pairedHello = await paired.handshake(deviceParams(peer.token, undefined));
    const pairedAuth = isJson(payloadOf(pairedHello)['auth']) ? (payloadOf(pairedHello)['auth'] as Json) : {};
    paired.close();
    const tokenOnly = await RawClient.open(url, remoteHeaders);
    clients.push(tokenOnly);
    await tokenOnly.handshake(deviceParams(undefined, String(pairedAuth['deviceToken'])));
    tokenOnly.close();
    const remoteNoDevice = await RawClient.open(url, remoteHeaders);
    clients.push(remoteNoDevice);
    await remoteNoDevice.handshake(operatorConnectParams(peer.token, FULL_SCOPES, ['tool-events']));
    remoteNoDevice.close();
    save('device-pairing', {
      loopbackWithDevice: localDevice.frames,
      remoteFirstConnect: [
        ...firstRemote.frames,
        {
          dir: 'in',
          atMs: -1,
          frame: { closeCode: firstRemote.closeCode, closeReason: firstRemote.closeReason },
        },
      ],
      approve: approval,
      remoteAfterApproval: paired.frames,
      remoteDeviceTokenOnly: tokenOnly.frames,
      remoteWithoutDevice: remoteNoDevice.frames,
    });

    // 10. The model fails.
    mark = main.frames.length;
    await runTurn(main, session('fail'), 'this will fail #fail');
    save('turn-model-error', main.frames.slice(mark));

    // 11. Invalid chat.send params.
    mark = main.frames.length;
    await main.request('chat.send', { sessionKey: session('bad'), message: 'no key' });
    save('chat-send-invalid', main.frames.slice(mark));

    // 12. Wrong token.
    const wrong = await RawClient.open(url);
    clients.push(wrong);
    await wrong.handshake(operatorConnectParams('wrong-token-0123456789', FULL_SCOPES, ['tool-events']));
    await wrong.closed();
    save('auth-failure', {
      frames: wrong.frames,
      closeCode: wrong.closeCode,
      closeReason: wrong.closeReason,
    });

    // 13. Ticks and anything else the idle connection gets, for one tick interval.
    mark = main.frames.length;
    await main.waitFor((frame) => frame['event'] === 'tick', 45_000, mark).catch(() => undefined);
    save('idle', main.frames.slice(mark));

    main.close();
    log(`model requests:\n${model.summary()}`);
  } finally {
    for (const client of clients) client.terminate();
    await peer.stop();
    await model.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
