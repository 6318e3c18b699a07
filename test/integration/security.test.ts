import { connect } from 'node:net';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

import { describe, expect, it } from 'vitest';

import { picture } from '../fakes/bot-message-factory.js';
import { FAKE_FILES_PATH_PREFIX } from '../fakes/fake-dingtalk.js';
import { FAKE_OPENCLAW_TOKEN } from '../fakes/fake-openclaw.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import { runGatewayCommand } from '../helpers/gateway-process.js';
import { pngImage } from '../helpers/media-fixtures.js';
import { testConfig } from '../helpers/test-config.js';

/** Stream frames above this size close the socket (src/dingtalk/stream/stream-socket.ts). */
const MAX_FRAME_BYTES = 8 * 1024 * 1024;
const RESOLVE_PATH = '/v1.0/robot/messageFiles/download';
const BATCH_SEND = '/v1.0/robot/oToMessages/batchSend';
const GROUP_SEND = '/v1.0/robot/groupMessages/send';

const harness = useGatewayHarness();

function sessionOf(webhook: string): string {
  return new URL(webhook).searchParams.get('session')!;
}

/** The text of an accepted webhook post or proactive message that contains `needle`. */
function answered(needle: string): boolean {
  const { dingtalk } = harness;
  return (
    dingtalk.webhookPosts.some((post) => JSON.stringify(post.body).includes(needle)) ||
    dingtalk.robotMessages.some((message) => JSON.stringify(message.body).includes(needle))
  );
}

/** Every signed download URL the fake handed out: their signatures are credentials. */
function downloadSignatures(): string[] {
  return harness.dingtalk.apiRequests
    .filter((request) => request.path === RESOLVE_PATH && request.response.status === 200)
    .map((request) => (request.response.body as { downloadUrl: string }).downloadUrl)
    .map((url) => new URL(url).searchParams.get('Signature')!);
}

/** `text` with every occurrence of any secret listed, so a failure names what leaked. */
function leaks(text: string, secrets: Readonly<Record<string, readonly string[]>>): string[] {
  return Object.entries(secrets).flatMap(([kind, values]) =>
    values.filter((value) => value.length >= 8 && text.includes(value)).map((value) => `${kind}: ${value}`),
  );
}

describe('secrets', () => {
  it('never reach the logs (trace), error messages, /metrics, the agent or the chat', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start({ log: { level: 'trace' } });
    // A webhook about to expire: the proactive API answers, with an access token.
    const expiring = dingtalk.dmText('proactive please', {
      senderStaffId: 'staff-s1',
      sessionWebhookExpiredTime: Date.now() + 1_000,
    });
    dingtalk.pushBotMessage(expiring);
    await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    // An invalidated token: refused once (an error path), then refreshed.
    dingtalk.invalidateAccessTokens();
    const group = dingtalk.groupText('group proactive', { conversationId: 'cidSecret==' });
    dingtalk.expireSession(sessionOf(group.sessionWebhook));
    dingtalk.pushBotMessage(group);
    await dingtalk.waitForApiRequests(GROUP_SEND, 2);
    // A picture: a signed download URL, then one whose download fails with an OSS error that echoes
    // the signature back.
    dingtalk.registerDownload('pic-secret', pngImage(4, 4, 0x30), 'image/png');
    dingtalk.pushBotMessage(picture('pic-secret', { senderStaffId: 'staff-s2' }, dingtalk.botMessageContext));
    await openclaw.waitForRequests(3);
    dingtalk.media.scriptFiles((view) => ({
      status: 403,
      headers: { 'content-type': 'application/xml' },
      rawBody: `<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>${view.query['Signature'] ?? ''}</SignatureProvided></Error>`,
    }));
    dingtalk.registerDownload('pic-denied', pngImage(4, 4, 0x50), 'image/png');
    dingtalk.pushBotMessage(picture('pic-denied', { senderStaffId: 'staff-s3' }, dingtalk.botMessageContext));
    await gw.waitForLog((line) => line.msg === 'inbound media not passed to the agent');
    // A webhook that fails with a 500, then an OpenClaw 401: more error paths.
    let webhookCalls = 0;
    dingtalk.scriptWebhook(() => (++webhookCalls === 1 ? { status: 500, body: 'oops' } : undefined));
    openclaw.enqueueReplies({ kind: 'json', status: 401, body: { error: { message: 'bad token' } } });
    const plain = dingtalk.dmText('plain', { senderStaffId: 'staff-s4' });
    dingtalk.pushBotMessage(plain);
    await expect.poll(() => answered('配置有误'), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => answered('echo: plain') || openclaw.requests.length >= 4).toBe(true);

    const metrics = await (await fetch(`${gw.baseUrl}/metrics`)).text();
    await gw.stop();
    const secrets = {
      clientSecret: [dingtalk.options.clientSecret],
      openclawToken: [FAKE_OPENCLAW_TOKEN],
      accessToken: dingtalk.issuedAccessTokens,
      ticket: dingtalk.connections.map((connection) => connection.ticket),
      webhookSession: [expiring, group, plain].map((message) => sessionOf(message.sessionWebhook)),
      downloadSignature: downloadSignatures(),
    };
    expect(secrets.accessToken.length).toBeGreaterThanOrEqual(2);
    expect(secrets.downloadSignature.length).toBeGreaterThanOrEqual(2);
    expect(gw.logs.length).toBeGreaterThan(50);
    expect(leaks(gw.rawStdout + gw.stderr, secrets)).toEqual([]);
    expect(leaks(metrics, secrets)).toEqual([]);
    expect(leaks(JSON.stringify(openclaw.requests.map((request) => request.body)), secrets)).toEqual([]);
    const chat = JSON.stringify([
      dingtalk.webhookPosts.map((p) => p.body),
      dingtalk.robotMessages.map((m) => m.body),
    ]);
    expect(leaks(chat, secrets)).toEqual([]);
  });

  it('are masked by check-config and never printed by a configuration error', async () => {
    const { dingtalk, openclaw } = harness;
    const config = testConfig(dingtalk, openclaw, { channels: { dingtalk: { maxChars: 'many' } } });
    const failed = await runGatewayCommand({ config });
    expect(failed.code).toBe(2);
    const checked = await runGatewayCommand({
      config: testConfig(dingtalk, openclaw),
      args: ['check-config'],
    });
    expect(checked.code).toBe(0);
    const secrets = { clientSecret: [dingtalk.options.clientSecret], openclawToken: [FAKE_OPENCLAW_TOKEN] };
    expect(leaks(failed.stdout + failed.stderr, secrets)).toEqual([]);
    expect(leaks(checked.stdout + checked.stderr, secrets)).toEqual([]);
    expect(checked.stdout).toContain('***');
  });
});

describe('URLs from DingTalk payloads', () => {
  it.each([
    ['another host', 'http://127.0.0.2:9/robot/sendBySession?session=steal'],
    ['a look-alike host', 'https://oapi.dingtalk.com.evil.test/robot/sendBySession?session=steal'],
    [
      'user info in front of another host',
      'http://oapi.dingtalk.com@127.0.0.2:9/robot/sendBySession?session=steal',
    ],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses a session webhook on %s and answers through the proactive API', async (_name, webhook) => {
    const { dingtalk } = harness;
    const gw = await harness.start();
    dingtalk.pushBotMessage(
      dingtalk.dmText('forged webhook', { senderStaffId: 'staff-f', sessionWebhook: webhook }),
    );
    const [sent] = await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    expect(sent!.body).toMatchObject({ userIds: ['staff-f'] });
    expect(dingtalk.webhookPosts).toHaveLength(0);
    expect(gw.rawStdout).not.toContain('steal');
  });

  it('refuses a download URL outside downloadHosts before requesting it, and tells the agent', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start();
    dingtalk.registerDownload('pic-away', pngImage(4, 4, 0x60), 'image/png');
    // Same server, other host name: only the apiBase host (127.0.0.1) and DingTalk/OSS hosts are allowed.
    const elsewhere = dingtalk.baseUrl.replace('127.0.0.1', 'localhost');
    dingtalk.scriptApi(RESOLVE_PATH, () => ({
      status: 200,
      body: { downloadUrl: `${elsewhere}${FAKE_FILES_PATH_PREFIX}abc?Expires=1&Signature=leaky-signature` },
    }));
    dingtalk.pushBotMessage(picture('pic-away', { senderStaffId: 'staff-d' }, dingtalk.botMessageContext));
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.lastUserText).toBe('[picture: could not be downloaded]');
    const warning = await gw.waitForLog((line) => line.msg === 'inbound media not passed to the agent');
    expect(JSON.stringify(warning)).toContain('not an allowed download host');
    expect(dingtalk.apiRequests.filter((entry) => entry.path.startsWith(FAKE_FILES_PATH_PREFIX))).toEqual([]);
    expect(gw.rawStdout).not.toContain('leaky-signature');
  });
});

/** Whether a TCP connection to host:port is accepted. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Local IPv4 addresses that are not loopback (may be none in a sandbox). */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry?.family === 'IPv4' && !entry.internal)
    .map((entry) => entry!.address);
}

/** Local addresses (dotted IPv4) listening on `port`, read from /proc/net/tcp (Linux). */
function listeningAddresses(port: number): string[] | undefined {
  if (!existsSync('/proc/net/tcp')) return undefined;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port)
    .map((fields) => {
      const hex = fields[1]!.split(':')[0]!;
      return [6, 4, 2, 0].map((offset) => Number.parseInt(hex.slice(offset, offset + 2), 16)).join('.');
    });
}

describe('the HTTP server', () => {
  it.each(['127.0.0.1', '127.0.0.2'])('binds only %s when server.host says so', async (host) => {
    const gw = await harness.start({ server: { host } });
    const url = new URL(gw.baseUrl);
    const port = Number(url.port);
    expect(url.hostname).toBe(host);
    expect(await canConnect(host, port)).toBe(true);
    const others = [host === '127.0.0.1' ? '127.0.0.2' : '127.0.0.1', ...otherAddresses()];
    const reachable = await Promise.all(others.map(async (other) => [other, await canConnect(other, port)]));
    expect(reachable).toEqual(others.map((other) => [other, false]));
    expect(listeningAddresses(port) ?? [host]).toEqual([host]);
  });
});

describe('bounds', () => {
  it('closes only the socket that carried an oversized frame, reconnects, and keeps answering', async () => {
    const { dingtalk } = harness;
    const gw = await harness.start();
    const [first] = dingtalk.connections;
    dingtalk.pushRaw(
      `{"type":"CALLBACK","headers":{"messageId":"big"},"data":"${'x'.repeat(MAX_FRAME_BYTES)}"}`,
      {
        connection: first,
      },
    );
    await first!.waitForClose(10_000);
    expect(first!.closeCode).toBe(1009);
    const [, second] = await dingtalk.waitForConnections(2, 10_000);
    dingtalk.pushBotMessage(dingtalk.dmText('after the big one', { senderStaffId: 'staff-b' }), {
      connection: second,
    });
    await expect.poll(() => answered('echo: after the big one'), { timeout: 10_000 }).toBe(true);
    expect((await fetch(`${gw.baseUrl}/healthz`)).status).toBe(200);
    expect(await gw.metric('dingtalk_stream_reconnects_total')).toBe(1);
  });

  it('hands the agent at most maxInboundChars of a 1 MB message, with a note, and answers', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start({ channels: { dingtalk: { maxInboundChars: 5_000 } } });
    const huge = `start ${'长文本 long text '.repeat(80_000)}`.slice(0, 1_000_000);
    const message = dingtalk.dmText(huge, { senderStaffId: 'staff-h' });
    const pushed = dingtalk.pushBotMessage(message);
    await dingtalk.waitForAck(pushed.messageId, 10_000);
    const [request] = await openclaw.waitForRequests(1, 10_000);
    const text = request!.lastUserText;
    expect(text.startsWith(huge.slice(0, 5_000))).toBe(true);
    expect(text.length).toBeLessThan(5_200);
    expect(text).toContain('it had 1000000 characters, only the first 5000 are shown');
    await dingtalk.waitForWebhookPosts(1);
    await gw.waitForLog((line) => line.msg.startsWith('message text longer than maxInboundChars'));
  });

  it('drops a flood from one sender beyond senderRateLimit without slowing anyone else', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start({
      channels: { dingtalk: { senderRateLimit: { messages: 5, windowMs: 60_000 }, requireMention: false } },
    });
    const flood = Array.from({ length: 60 }, (_, index) =>
      index % 3 === 0
        ? dingtalk.groupText(`flood ${index}`, { senderStaffId: 'flooder', conversationId: 'cidFlood==' })
        : dingtalk.dmText(`flood ${index}`, { senderStaffId: 'flooder' }),
    );
    const pushes = flood.map((message) => dingtalk.pushBotMessage(message));
    const calm = dingtalk.pushBotMessage(dingtalk.dmText('just one', { senderStaffId: 'calm' }));
    const startedMs = Date.now();
    await expect.poll(() => answered('echo: just one'), { timeout: 5_000 }).toBe(true);
    // Answered without waiting behind the flood.
    expect(Date.now() - startedMs).toBeLessThan(3_000);
    for (const push of [...pushes, calm]) await dingtalk.waitForAck(push.messageId);
    await expect
      .poll(() => gw.metric('gateway_messages_rejected_total', { reason: 'rate-limited' }))
      .toBe(55);
    const flooded = openclaw.requests.filter((request) => request.lastUserText.includes('flood'));
    expect(flooded.length).toBeLessThanOrEqual(5);
    await expect.poll(() => openclaw.requests.filter((r) => r.lastUserText.includes('flood')).length).toBe(5);
    const warnings = gw.logs.filter(
      (line) => line.msg.startsWith('sender over senderRateLimit') && line.level === 40,
    );
    expect(warnings).toHaveLength(1);
    // Dropped without a reply: five answers (or busy notices) for the flooder, nothing more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const floodReplies = dingtalk.webhookPosts.filter(
      (post) => !JSON.stringify(post.body).includes('just one'),
    );
    expect(floodReplies.length).toBeLessThanOrEqual(5);
  });
});

describe('the state folder', () => {
  it('is the only place the daemon writes to in its working folder', async () => {
    const { dingtalk } = harness;
    const gw = await harness.start({ state: { dir: './state' } });
    dingtalk.pushBotMessage(dingtalk.dmText('write something'));
    await dingtalk.waitForWebhookPosts(1);
    const entries = readdirSync(gw.workdir).sort();
    expect(entries).toEqual(['gateway.json5', 'state']);
  });
});
