import { describe, expect, it } from 'vitest';

import { HEAP_GROWING_PERCENT } from '../../src/lifecycle/heap-growth.js';
import { FAKE_OPENCLAW_TOKEN } from '../fakes/fake-openclaw.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import { runGatewayCommand } from '../helpers/gateway-process.js';

const harness = useGatewayHarness();

describe('configuration errors', () => {
  it('lists every problem with its key path and exits 2, never printing a secret', async () => {
    const result = await runGatewayCommand({
      config: {
        server: { port: 'eighty', hots: 'typo' },
        openclaw: { baseUrl: 'ftp://nope', token: 'oc-secret-token-value' },
        channels: {
          dingtalk: {
            clientId: 'id',
            clientSecret: 'ding-secret-value-xyz',
            replyMode: 'html',
            maxChars: 10,
            subscriptionsJson: '[{"type":"CALLBACK"}]',
            accounts: { second: { clientId: 'id2' } },
          },
        },
      },
    });
    expect(result.code).toBe(2);
    for (const path of [
      'server.port',
      'server',
      'openclaw.baseUrl',
      'channels.dingtalk.replyMode',
      'channels.dingtalk.maxChars',
    ]) {
      expect(result.stderr).toContain(`${path}:`);
    }
    expect(result.stderr).toContain('"hots"');
    expect(result.stderr + result.stdout).not.toContain('oc-secret-token-value');
    expect(result.stderr + result.stdout).not.toContain('ding-secret-value-xyz');
  });

  it('reports account-level problems (missing secret, bad subscriptionsJson) by path', async () => {
    const result = await runGatewayCommand({
      config: {
        channels: {
          dingtalk: {
            clientId: 'id',
            clientSecret: 'ding-secret-value-xyz',
            subscriptionsJson: '[{"type":"CALLBACK"}]',
            accounts: { third: { clientSecretFile: 'missing.txt', clientId: 'id3' } },
          },
        },
      },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('channels.dingtalk.subscriptionsJson.0.topic:');
    expect(result.stderr).toContain(
      'channels.dingtalk.accounts.third.clientSecretFile: cannot read file (ENOENT)',
    );
  });

  it('fails with exit 2 when no account is configured, naming the env vars to set', async () => {
    const result = await runGatewayCommand({});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('channels.dingtalk.clientId:');
    expect(result.stderr).toContain('DINGTALK_CLIENT_ID');
  });

  it('rejects a config file that is not JSON5', async () => {
    const result = await runGatewayCommand({ files: { 'config.json5': '{ server: { port: 80 ' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config file:');
  });
});

describe('check-config', () => {
  it('prints the effective config from env, .env and file with secrets masked', async () => {
    const result = await runGatewayCommand({
      args: ['check-config'],
      files: {
        'config.json5':
          "{ channels: { dingtalk: { replyMode: 'text', accounts: { ops: { clientId: 'ops-id', clientSecretFile: 'ops.secret' } } } } }",
        'ops.secret': 'ops-secret-from-file\n',
        '.env': 'OPENCLAW_TOKEN=token-from-dotenv\nPORT=9999\n',
      },
      env: { DINGTALK_CLIENT_ID: 'env-id', DINGTALK_CLIENT_SECRET: 'env-secret-abc', PORT: '8181' },
    });
    expect(result.code).toBe(0);
    const effective = JSON.parse(result.stdout) as {
      server: { port: number };
      openclaw: { token: string; agentId: string };
      accounts: { id: string; clientId: string; clientSecret: string; replyMode: string; maxChars: number }[];
    };
    // The environment wins over .env, which wins over the file's defaults.
    expect(effective.server.port).toBe(8181);
    expect(effective.openclaw).toMatchObject({ token: '***', agentId: 'main' });
    expect(effective.accounts).toMatchObject([
      { id: 'default', clientId: 'env-id', clientSecret: '***', replyMode: 'text', maxChars: 1800 },
      { id: 'ops', clientId: 'ops-id', clientSecret: '***', replyMode: 'text' },
    ]);
    expect(result.stdout).not.toMatch(/env-secret-abc|ops-secret-from-file|token-from-dotenv/);
  });
});

describe('running from environment variables only', () => {
  it('starts on defaults plus env, reports health and readiness, and stops cleanly on SIGTERM', async () => {
    const { dingtalk, openclaw } = harness;
    const gateway = await harness.launch({
      config: {
        server: { port: 0 },
        channels: { dingtalk: { apiBase: dingtalk.baseUrl, oapiBase: dingtalk.baseUrl } },
      },
      env: {
        DINGTALK_CLIENT_ID: dingtalk.options.clientId,
        DINGTALK_CLIENT_SECRET: dingtalk.options.clientSecret,
        OPENCLAW_BASE_URL: openclaw.baseUrl,
        OPENCLAW_TOKEN: FAKE_OPENCLAW_TOKEN,
        OPENCLAW_AGENT_ID: 'helper',
        LOG_LEVEL: 'info',
      },
    });
    expect((await fetch(`${gateway.baseUrl}/healthz`)).status).toBe(200);
    // V8's heap growth is capped unless `node` was given its own --heap-growing-percent.
    expect(gateway.logs.find((line) => line.msg === 'configuration loaded')).toMatchObject({
      heapGrowingPercent: HEAP_GROWING_PERCENT,
    });
    const [connection] = await dingtalk.waitForConnections(1);
    await expect.poll(async () => (await fetch(`${gateway.baseUrl}/readyz`)).status).toBe(200);
    const ready: unknown = await (await fetch(`${gateway.baseUrl}/readyz`)).json();
    expect(ready).toEqual({
      status: 'ready',
      accounts: [{ account: 'default', state: 'open', ready: true }],
    });

    dingtalk.pushBotMessage(dingtalk.dmText('hi'));
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.body).toMatchObject({ model: 'openclaw/helper' });
    await dingtalk.waitForWebhookPosts(1);

    const status = await gateway.stop('SIGTERM');
    expect(status.code).toBe(0);
    await connection!.waitForClose(2_000);
    expect(connection!.closeCode).toBe(1000);
    expect(dingtalk.liveConnections()).toHaveLength(0);
    await expect.poll(() => openclaw.openConnections()).toBe(0);
  });

  it('finishes a running turn before exiting on SIGTERM and leaves new messages unacked', async () => {
    const { dingtalk, openclaw } = harness;
    const gateway = await harness.start();
    const [connection] = await dingtalk.waitForConnections(1);
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['finished ', 'answer'], chunkDelayMs: 300 });
    dingtalk.pushBotMessage(dingtalk.dmText('long one'), { connection: connection! });
    await openclaw.waitForRequests(1);
    const exited = gateway.stop('SIGTERM');
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect((post!.body as { markdown: { text: string } }).markdown.text).toBe('finished answer');
    expect((await exited).code).toBe(0);
    expect(gateway.logs.some((line) => line.msg === 'shutdown complete')).toBe(true);
  });
});

describe('secrets', () => {
  it('never writes the client secret, the OpenClaw token, tickets or webhook sessions to the logs, even at trace', async () => {
    const { dingtalk, openclaw } = harness;
    const gateway = await harness.start({ log: { level: 'trace' } });
    const message = dingtalk.dmText('secret test');
    dingtalk.pushBotMessage(message);
    await dingtalk.waitForWebhookPosts(1);
    openclaw.enqueueReplies({
      kind: 'json',
      status: 401,
      body: { error: { message: 'Unauthorized', type: 'unauthorized' } },
    });
    dingtalk.pushBotMessage(dingtalk.dmText('again'));
    await dingtalk.waitForWebhookPosts(2);
    await gateway.stop();

    const output = gateway.rawStdout + gateway.stderr;
    const sessionId = new URL(message.sessionWebhook).searchParams.get('session')!;
    expect(gateway.logs.length).toBeGreaterThan(10);
    expect(output).not.toContain(dingtalk.options.clientSecret);
    expect(output).not.toContain(FAKE_OPENCLAW_TOKEN);
    expect(output).not.toContain(sessionId);
    for (const connection of dingtalk.connections) expect(output).not.toContain(connection.ticket);
  });
});
