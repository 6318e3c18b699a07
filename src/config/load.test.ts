import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError, type ConfigIssue } from '../errors.js';
import { BOT_MESSAGE_TOPIC } from './accounts.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from './load.js';
import { CARD_DEFAULTS, INDICATOR_DEFAULTS } from './schema.js';
import { MASK, maskSecrets } from './mask.js';

const SECRET = 'S3cr3t-v4lue-never-printed';
const BASE_ENV = { DINGTALK_CLIENT_ID: 'ding-app-1', DINGTALK_CLIENT_SECRET: SECRET } as const;

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
  dirs.push(dir);
  return dir;
}

function write(dir: string, name: string, content: unknown): string {
  const path = join(dir, name);
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** Runs `load` and returns the ConfigError it must throw. */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

function issuePaths(error: ConfigError): string[] {
  return error.issues.map((issue) => issue.path);
}

describe('loadConfig', () => {
  describe('sources', () => {
    it('runs from the environment alone with every default', () => {
      const cwd = tempDir();
      const config = loadConfig({ configPath: undefined, env: BASE_ENV, cwd });
      expect(config.source).toBe('environment only');
      expect(config.server).toEqual({
        host: '127.0.0.1',
        port: 8080,
        shutdownGraceMs: 20_000,
        sendApiToken: undefined,
        sendApiRateLimitRequests: 60,
        sendApiRateLimitWindowMs: 60_000,
      });
      expect(config.openclaw).toEqual({
        baseUrl: 'http://127.0.0.1:18789',
        token: undefined,
        agentId: 'main',
        maxConcurrentTurns: 64,
        timeoutMs: 600_000,
        connectTimeoutMs: 10_000,
        transport: 'http',
        wsUrl: 'ws://127.0.0.1:18789',
        requestTimeoutMs: 30_000,
        deviceIdentityFile: undefined,
        requestAdminScope: true,
      });
      expect(config.state).toEqual({
        dir: resolve(cwd, 'state'),
        dedupeTtlMs: 600_000,
        leaseTtlMs: 30_000,
        sweepIntervalMs: 5_000,
        redisKeyPrefix: 'dtgw:',
      });
      expect(config.log).toEqual({ level: 'info' });
      expect(config.accounts).toEqual([
        {
          id: 'default',
          name: 'default',
          clientId: 'ding-app-1',
          clientSecret: SECRET,
          replyMode: 'markdown',
          maxChars: 1800,
          tableMode: 'code',
          allowFrom: [],
          requireMention: true,
          requirePrefix: undefined,
          isolateContextPerUserInGroup: false,
          mentionBypassUsers: [],
          responsePrefix: undefined,
          showToolStatus: false,
          showToolResult: false,
          thinking: 'off',
          apiBase: 'https://api.dingtalk.com',
          oapiBase: 'https://oapi.dingtalk.com',
          openPath: '/v1.0/gateway/connections/open',
          subscriptions: [{ type: 'CALLBACK', topic: BOT_MESSAGE_TOPIC }],
          mediaRoots: [],
          maxInboundChars: 20_000,
          senderRateLimit: { messages: 30, windowMs: 60_000 },
          downloadHosts: ['*.aliyuncs.com', '*.dingtalk.com', '*.dingtalkapps.com'],
          commands: { enabled: true },
          card: CARD_DEFAULTS,
          indicator: INDICATOR_DEFAULTS,
          connection: {
            openTimeoutMs: 10_000,
            heartbeatIntervalMs: 20_000,
            heartbeatTimeoutMs: 60_000,
            reconnectInitialDelayMs: 1_000,
            reconnectMaxDelayMs: 60_000,
            stableAfterMs: 30_000,
            drainTimeoutMs: 10_000,
          },
        },
      ]);
    });

    it('reads every documented environment variable', () => {
      const config = loadConfig({
        configPath: undefined,
        cwd: tempDir(),
        env: {
          ...BASE_ENV,
          OPENCLAW_BASE_URL: 'https://claw.example.test:9000/',
          OPENCLAW_TOKEN: 'claw-token',
          OPENCLAW_AGENT_ID: 'helper',
          PORT: '9090',
          GATEWAY_HOST: '0.0.0.0',
          GATEWAY_SEND_TOKEN: 'send-token-0123456789',
          LOG_LEVEL: 'debug',
        },
      });
      expect(config.openclaw).toMatchObject({
        baseUrl: 'https://claw.example.test:9000',
        token: 'claw-token',
        agentId: 'helper',
      });
      expect(config.server).toMatchObject({
        host: '0.0.0.0',
        port: 9090,
        sendApiToken: 'send-token-0123456789',
      });
      expect(config.log.level).toBe('debug');
    });

    it('layers the environment over .env over the config file, key by key', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, {
        server: { host: '10.0.0.1', port: 1111 },
        openclaw: { agentId: 'from-file', baseUrl: 'http://file.test' },
        log: { level: 'warn' },
        channels: { dingtalk: { clientId: 'file-id', clientSecret: 'file-secret' } },
      });
      write(cwd, '.env', 'PORT=2222\nOPENCLAW_AGENT_ID=from-dotenv\nOPENCLAW_BASE_URL=http://dotenv.test\n');
      const config = loadConfig({
        configPath: undefined,
        cwd,
        env: { OPENCLAW_BASE_URL: 'http://env.test', DINGTALK_CLIENT_SECRET: 'env-secret' },
      });
      expect(config.openclaw.baseUrl).toBe('http://env.test');
      expect(config.openclaw.agentId).toBe('from-dotenv');
      expect(config.server.port).toBe(2222);
      expect(config.server.host).toBe('10.0.0.1');
      expect(config.log.level).toBe('warn');
      expect(config.accounts[0]).toMatchObject({ clientId: 'file-id', clientSecret: 'env-secret' });
    });

    it('ignores empty environment variables instead of blanking configured values', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, { openclaw: { agentId: 'kept' }, server: { port: 1234 } });
      const config = loadConfig({
        configPath: undefined,
        cwd,
        env: { ...BASE_ENV, OPENCLAW_AGENT_ID: '', PORT: '  ' },
      });
      expect(config.openclaw.agentId).toBe('kept');
      expect(config.server.port).toBe(1234);
    });

    it('does not touch process.env or the env object it was given', () => {
      const cwd = tempDir();
      write(cwd, '.env', 'GW_UNIT_DOTENV_MARKER=1\nLOG_LEVEL=trace\n');
      const env = Object.freeze({ ...BASE_ENV });
      expect(loadConfig({ configPath: undefined, cwd, env }).log.level).toBe('trace');
      expect(process.env['GW_UNIT_DOTENV_MARKER']).toBeUndefined();
      expect(env).toEqual(BASE_ENV);
    });

    it('picks up ./config.json5 from cwd when nothing names a file', () => {
      const cwd = tempDir();
      const file = write(cwd, 'config.json5', '// comment\n{ server: { port: 7001, }, }');
      const config = loadConfig({ configPath: undefined, env: BASE_ENV, cwd });
      expect(config.server.port).toBe(7001);
      expect(config.source).toBe(file);
    });

    it('uses GATEWAY_CONFIG (relative to cwd) instead of ./config.json5', () => {
      const cwd = tempDir();
      write(cwd, 'config.json5', { server: { port: 7001 } });
      const file = write(cwd, 'etc/gw.json5', { server: { port: 7002 } });
      const config = loadConfig({
        configPath: undefined,
        env: { ...BASE_ENV, GATEWAY_CONFIG: 'etc/gw.json5' },
        cwd,
      });
      expect(config.server.port).toBe(7002);
      expect(config.source).toBe(file);
    });

    it('reads GATEWAY_CONFIG from .env too', () => {
      const cwd = tempDir();
      write(cwd, 'other.json5', { server: { port: 7004 } });
      write(cwd, '.env', 'GATEWAY_CONFIG=other.json5\n');
      expect(loadConfig({ configPath: undefined, env: BASE_ENV, cwd }).server.port).toBe(7004);
    });

    it('lets --config win over GATEWAY_CONFIG', () => {
      const cwd = tempDir();
      write(cwd, 'env.json5', { server: { port: 7002 } });
      const file = write(cwd, 'cli.json5', { server: { port: 7003 } });
      const config = loadConfig({
        configPath: 'cli.json5',
        env: { ...BASE_ENV, GATEWAY_CONFIG: 'env.json5' },
        cwd,
      });
      expect(config.server.port).toBe(7003);
      expect(config.source).toBe(file);
    });

    it('accepts an absolute --config path', () => {
      const elsewhere = tempDir();
      const file = write(elsewhere, 'abs.json5', { server: { port: 7005 } });
      expect(loadConfig({ configPath: file, env: BASE_ENV, cwd: tempDir() }).server.port).toBe(7005);
    });

    it('treats a blank GATEWAY_CONFIG as unset', () => {
      const cwd = tempDir();
      write(cwd, 'config.json5', { server: { port: 7006 } });
      expect(
        loadConfig({ configPath: undefined, env: { ...BASE_ENV, GATEWAY_CONFIG: ' ' }, cwd }).server.port,
      ).toBe(7006);
    });

    it('fails when a named file does not exist', () => {
      const error = configError(() =>
        loadConfig({ configPath: 'missing.json5', env: BASE_ENV, cwd: tempDir() }),
      );
      expect(error.issues).toEqual([
        { path: 'config file', message: expect.stringMatching(/missing\.json5 \(ENOENT\)$/) as string },
      ]);
    });

    it.each([
      ['broken JSON5', '{ server: { port: 1 }'],
      ['a top-level array', '[1, 2]'],
      ['a top-level string', '"config"'],
      ['null', 'null'],
    ])('fails on a file that is %s', (_name, text) => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, text);
      const error = configError(() => loadConfig({ configPath: undefined, env: BASE_ENV, cwd }));
      expect(error.issues).toHaveLength(1);
      expect(error.code).toBe('GW_CONFIG_INVALID');
    });
  });

  describe('validation', () => {
    function loadDocument(
      document: unknown,
      env: Record<string, string> = BASE_ENV,
    ): ReturnType<typeof loadConfig> {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, document);
      return loadConfig({ configPath: undefined, env, cwd });
    }

    it.each<[string, unknown, ConfigIssue]>([
      ['an unknown top-level key', { sever: {} }, { path: '(root)', message: 'Unrecognized key: "sever"' }],
      [
        'an unknown server key',
        { server: { prot: 1 } },
        { path: 'server', message: 'Unrecognized key: "prot"' },
      ],
      [
        'an unknown channel key',
        { channels: { dingtalk: { clientSecert: 'x' } } },
        { path: 'channels.dingtalk', message: 'Unrecognized key: "clientSecert"' },
      ],
      [
        'an unknown account key',
        { channels: { dingtalk: { accounts: { a: { clientId: 'x', clientSecret: 'y', foo: 1 } } } } },
        { path: 'channels.dingtalk.accounts.a', message: 'Unrecognized key: "foo"' },
      ],
      [
        'an unknown connection key',
        { channels: { dingtalk: { connection: { heartbeatTimeout: 5 } } } },
        { path: 'channels.dingtalk.connection', message: 'Unrecognized key: "heartbeatTimeout"' },
      ],
      [
        'an unknown channel',
        { channels: { slack: {} } },
        { path: 'channels', message: 'Unrecognized key: "slack"' },
      ],
    ])('rejects %s with its path', (_name, document, issue) => {
      const error = configError(() => loadDocument(document));
      expect(error.issues).toContainEqual(issue);
      expect(error.message).toContain(`${issue.path}: ${issue.message}`);
    });

    it.each([
      ['server.port as a string', { server: { port: '8080' } }, 'server.port'],
      ['server.port out of range', { server: { port: 70_000 } }, 'server.port'],
      ['a negative timing', { server: { shutdownGraceMs: -1 } }, 'server.shutdownGraceMs'],
      ['a fractional timing', { openclaw: { timeoutMs: 1.5 } }, 'openclaw.timeoutMs'],
      ['a non-URL baseUrl', { openclaw: { baseUrl: 'localhost:18789' } }, 'openclaw.baseUrl'],
      ['an ftp baseUrl', { openclaw: { baseUrl: 'ftp://x.test' } }, 'openclaw.baseUrl'],
      ['a bad agent id', { openclaw: { agentId: 'a b' } }, 'openclaw.agentId'],
      ['an unknown log level', { log: { level: 'loud' } }, 'log.level'],
      ['a dedupe TTL under 10 minutes', { state: { dedupeTtlMs: 1_000 } }, 'state.dedupeTtlMs'],
      ['replyMode', { channels: { dingtalk: { replyMode: 'html' } } }, 'channels.dingtalk.replyMode'],
      ['maxChars too small', { channels: { dingtalk: { maxChars: 10 } } }, 'channels.dingtalk.maxChars'],
      [
        'allowFrom not a list',
        { channels: { dingtalk: { allowFrom: 'me' } } },
        'channels.dingtalk.allowFrom',
      ],
      [
        'an empty allowFrom entry',
        { channels: { dingtalk: { allowFrom: [''] } } },
        'channels.dingtalk.allowFrom.0',
      ],
      [
        'openPath without a slash',
        { channels: { dingtalk: { openPath: 'v1.0/x' } } },
        'channels.dingtalk.openPath',
      ],
      [
        'an account id with spaces',
        { channels: { dingtalk: { accounts: { 'bad id': {} } } } },
        'channels.dingtalk.accounts.bad id',
      ],
      [
        'an account connection timing',
        { channels: { dingtalk: { accounts: { a: { connection: { stableAfterMs: 0 } } } } } },
        'channels.dingtalk.accounts.a.connection.stableAfterMs',
      ],
      ['a section that is not an object', { server: 5 }, 'server'],
    ])('rejects %s', (_name, document, path) => {
      expect(issuePaths(configError(() => loadDocument(document)))).toContain(path);
    });

    it('lists every issue at once, file and environment', () => {
      const error = configError(() =>
        loadDocument(
          {
            server: { port: 'x', extra: true },
            log: { level: 'loud' },
            openclaw: { baseUrl: 'nope' },
            channels: { dingtalk: { maxChars: 1 } },
          },
          { ...BASE_ENV, PORT: 'eighty' },
        ),
      );
      expect(issuePaths(error).sort()).toEqual(
        [
          'server.port (env PORT)',
          'server.port',
          'server',
          'log.level',
          'openclaw.baseUrl',
          'channels.dingtalk.maxChars',
        ].sort(),
      );
      for (const issue of error.issues)
        expect(error.message).toContain(`  - ${issue.path}: ${issue.message}`);
    });

    it.each(['eighty', '80.5', '-1', '0x50', '8e3'])('rejects PORT=%s as not an integer', (port) => {
      const error = configError(() =>
        loadConfig({ configPath: undefined, env: { ...BASE_ENV, PORT: port }, cwd: tempDir() }),
      );
      expect(error.issues).toEqual([{ path: 'server.port (env PORT)', message: 'must be an integer' }]);
    });

    it('rejects a PORT above 65535 through the schema', () => {
      const error = configError(() =>
        loadConfig({ configPath: undefined, env: { ...BASE_ENV, PORT: '65536' }, cwd: tempDir() }),
      );
      expect(issuePaths(error)).toEqual(['server.port']);
    });

    it('reports an env variable whose section in the file is not an object', () => {
      const error = configError(() => loadDocument({ openclaw: 'x' }, { ...BASE_ENV, OPENCLAW_TOKEN: 't' }));
      expect(error.issues).toContainEqual({ path: 'openclaw', message: 'must be an object' });
    });

    it('requires an account', () => {
      const error = configError(() => loadConfig({ configPath: undefined, env: {}, cwd: tempDir() }));
      expect(error.issues).toEqual([
        {
          path: 'channels.dingtalk.clientId',
          message: 'no DingTalk account configured: set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET',
        },
      ]);
    });

    it('requires a secret for the root account', () => {
      const error = configError(() =>
        loadConfig({ configPath: undefined, env: { DINGTALK_CLIENT_ID: 'x' }, cwd: tempDir() }),
      );
      expect(error.issues).toEqual([
        { path: 'channels.dingtalk.clientSecret', message: 'required (or clientSecretFile)' },
      ]);
    });

    it('requires clientId and secret per account, with the account path', () => {
      const error = configError(() =>
        loadDocument({ channels: { dingtalk: { accounts: { a: { name: 'A' } } } } }, {}),
      );
      expect(error.issues).toEqual([
        { path: 'channels.dingtalk.accounts.a.clientId', message: 'required (the DingTalk app Client ID)' },
        { path: 'channels.dingtalk.accounts.a.clientSecret', message: 'required (or clientSecretFile)' },
      ]);
    });

    it('rejects a reconnect cap below the initial delay', () => {
      const error = configError(() =>
        loadDocument({
          channels: {
            dingtalk: { connection: { reconnectInitialDelayMs: 5_000, reconnectMaxDelayMs: 1_000 } },
          },
        }),
      );
      expect(error.issues).toEqual([
        {
          path: 'channels.dingtalk.connection.reconnectMaxDelayMs',
          message: 'must be at least reconnectInitialDelayMs',
        },
      ]);
    });

    it('configures the WebSocket transport: URL from baseUrl, a device identity only off loopback', () => {
      const local = loadDocument({ openclaw: { transport: 'ws', baseUrl: 'https://127.0.0.1:18789/' } });
      expect(local.openclaw).toMatchObject({ transport: 'ws', wsUrl: 'wss://127.0.0.1:18789' });
      expect(local.openclaw.deviceIdentityFile).toBeUndefined();

      const remote = loadDocument({
        openclaw: { transport: 'ws', baseUrl: 'http://host.docker.internal:18789' },
      });
      expect(remote.openclaw.wsUrl).toBe('ws://host.docker.internal:18789');
      expect(remote.openclaw.deviceIdentityFile).toMatch(/\/state\/openclaw-device\.json$/);

      const explicit = loadDocument({
        openclaw: {
          transport: 'ws',
          wsUrl: 'ws://127.0.0.1:18789/',
          deviceIdentity: 'always',
          deviceIdentityFile: 'keys/device.json',
        },
        state: { dir: './data' },
      });
      expect(explicit.openclaw.wsUrl).toBe('ws://127.0.0.1:18789');
      expect(explicit.openclaw.deviceIdentityFile).toMatch(/\/keys\/device\.json$/);

      const off = loadDocument({
        openclaw: { transport: 'ws', wsUrl: 'ws://10.0.0.5:1', deviceIdentity: 'off' },
      });
      expect(off.openclaw.deviceIdentityFile).toBeUndefined();
    });

    it('rejects an unknown transport and a non-ws wsUrl', () => {
      const error = configError(() =>
        loadDocument({ openclaw: { transport: 'grpc', wsUrl: 'http://127.0.0.1:18789' } }),
      );
      expect(issuePaths(error)).toEqual(['openclaw.transport', 'openclaw.wsUrl']);
    });

    it('strips a trailing slash from base URLs', () => {
      const config = loadDocument({
        openclaw: { baseUrl: 'http://claw.test:1/' },
        channels: { dingtalk: { apiBase: 'https://api.example.test//' } },
      });
      expect(config.openclaw.baseUrl).toBe('http://claw.test:1');
      expect(config.accounts[0]?.apiBase).toBe('https://api.example.test');
    });

    it('resolves state.dir against cwd', () => {
      const cwd = tempDir();
      write(cwd, 'conf/gw.json5', { state: { dir: 'data' } });
      expect(loadConfig({ configPath: 'conf/gw.json5', env: BASE_ENV, cwd }).state.dir).toBe(
        resolve(cwd, 'data'),
      );
    });
  });

  describe('accounts', () => {
    function load(dingtalk: Record<string, unknown>, env: Record<string, string> = {}) {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, { channels: { dingtalk } });
      return loadConfig({ configPath: undefined, env, cwd });
    }

    it('reads DINGTALK_MEDIA_ROOTS as a comma-separated list for the default account', () => {
      const config = load(
        { clientId: 'root-id', clientSecret: 'root-secret', mediaRoots: ['/from/file'] },
        { DINGTALK_MEDIA_ROOTS: ' /srv/a , /srv/b,, ' },
      );
      expect(config.accounts[0]!.mediaRoots).toEqual(['/srv/a', '/srv/b']);
    });

    it('inherits every channel key and overrides per account', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 'root-secret',
        maxChars: 1000,
        allowFrom: ['boss'],
        requirePrefix: '/ai',
        responsePrefix: '[bot]',
        accounts: {
          sales: {
            clientId: 'sales-id',
            clientSecret: 'sales-secret',
            maxChars: 3000,
            allowFrom: [],
            name: 'Sales bot',
          },
          support: { clientId: 'support-id', replyMode: 'text' },
        },
      });
      expect(config.accounts.map((account) => account.id)).toEqual(['default', 'sales', 'support']);
      const [root, sales, support] = config.accounts;
      expect(root).toMatchObject({
        name: 'default',
        clientId: 'root-id',
        maxChars: 1000,
        allowFrom: ['boss'],
        replyMode: 'markdown',
      });
      expect(sales).toMatchObject({
        name: 'Sales bot',
        clientId: 'sales-id',
        clientSecret: 'sales-secret',
        maxChars: 3000,
        allowFrom: [],
        requirePrefix: '/ai',
        responsePrefix: '[bot]',
      });
      expect(support).toMatchObject({
        name: 'support',
        clientId: 'support-id',
        clientSecret: 'root-secret',
        maxChars: 1000,
        allowFrom: ['boss'],
        replyMode: 'text',
      });
    });

    it('merges connection timings key by key: root values are inherited, not reset to defaults', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        connection: { heartbeatTimeoutMs: 9_000, stableAfterMs: 5_000, reconnectMaxDelayMs: 8_000 },
        accounts: { fast: { clientId: 'fast-id', connection: { heartbeatTimeoutMs: 3_000 } } },
      });
      const [root, fast] = config.accounts;
      expect(root?.connection).toMatchObject({
        heartbeatTimeoutMs: 9_000,
        stableAfterMs: 5_000,
        reconnectMaxDelayMs: 8_000,
      });
      expect(fast?.connection).toEqual({
        openTimeoutMs: 10_000,
        heartbeatIntervalMs: 20_000,
        heartbeatTimeoutMs: 3_000,
        reconnectInitialDelayMs: 1_000,
        reconnectMaxDelayMs: 8_000,
        stableAfterMs: 5_000,
        drainTimeoutMs: 10_000,
      });
    });

    it('merges senderRateLimit key by key and inherits the intake limits', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        maxInboundChars: 5_000,
        senderRateLimit: { messages: 5, windowMs: 10_000 },
        downloadHosts: ['files.example.test', '*.oss.example.test'],
        accounts: { strict: { clientId: 'strict-id', senderRateLimit: { messages: 1 } } },
      });
      const [root, strict] = config.accounts;
      expect(root).toMatchObject({
        maxInboundChars: 5_000,
        senderRateLimit: { messages: 5, windowMs: 10_000 },
        downloadHosts: ['files.example.test', '*.oss.example.test'],
      });
      expect(strict).toMatchObject({
        maxInboundChars: 5_000,
        senderRateLimit: { messages: 1, windowMs: 10_000 },
        downloadHosts: ['files.example.test', '*.oss.example.test'],
      });
    });

    it('rejects download host patterns that are not host names', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, {
        channels: { dingtalk: { downloadHosts: ['https://x.test', 'a.*.test', '*', 'ok.test', '[::1]'] } },
      });
      const error = configError(() => loadConfig({ configPath: undefined, env: BASE_ENV, cwd }));
      expect(issuePaths(error)).toEqual([
        'channels.dingtalk.downloadHosts.0',
        'channels.dingtalk.downloadHosts.1',
        'channels.dingtalk.downloadHosts.2',
      ]);
    });

    it('an account without a connection block takes the root connection as is', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        connection: { heartbeatTimeoutMs: 9_000 },
        accounts: { other: { clientId: 'other-id' } },
      });
      expect(config.accounts[1]?.connection).toEqual(config.accounts[0]?.connection);
      expect(config.accounts[1]?.connection.heartbeatTimeoutMs).toBe(9_000);
    });

    it('the root is no account when only accounts.<id> carry a clientId', () => {
      const config = load({
        clientSecret: 'shared',
        accounts: { b: { clientId: 'b-id' }, a: { clientId: 'a-id' } },
      });
      expect(config.accounts.map((account) => [account.id, account.clientSecret])).toEqual([
        ['a', 'shared'],
        ['b', 'shared'],
      ]);
    });

    it('accounts.default overrides the root account instead of adding one', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        accounts: { default: { name: 'Main', maxChars: 500 } },
      });
      expect(config.accounts).toHaveLength(1);
      expect(config.accounts[0]).toMatchObject({
        id: 'default',
        name: 'Main',
        clientId: 'root-id',
        maxChars: 500,
      });
    });

    it('accounts.default makes the root an account even without a root clientId', () => {
      const config = load({
        accounts: {
          default: { clientId: 'd-id', clientSecret: 's' },
          z: { clientId: 'z-id', clientSecret: 's' },
        },
      });
      expect(config.accounts.map((account) => account.id)).toEqual(['default', 'z']);
    });

    it('reports problems of accounts.default under that path', () => {
      const error = configError(() => load({ accounts: { default: { name: 'x' } } }));
      expect(issuePaths(error)).toEqual([
        'channels.dingtalk.accounts.default.clientId',
        'channels.dingtalk.accounts.default.clientSecret',
      ]);
    });

    it('skips disabled accounts, even incomplete ones', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        accounts: {
          off: { enabled: false, clientId: 'off-id' },
          broken: { enabled: false },
          on: { clientId: 'on-id' },
        },
      });
      expect(config.accounts.map((account) => account.id)).toEqual(['default', 'on']);
    });

    it('accounts.default can disable the root account alone', () => {
      const config = load({
        clientId: 'root-id',
        clientSecret: 's',
        accounts: { default: { enabled: false }, b: { clientId: 'b-id' } },
      });
      expect(config.accounts.map((account) => account.id)).toEqual(['b']);
    });

    it('the whole channel can be disabled', () => {
      expect(load({ enabled: false, clientId: 'root-id', clientSecret: 's' }).accounts).toEqual([]);
    });

    it('rejects two accounts with the same clientId', () => {
      const error = configError(() =>
        load({
          clientId: 'same',
          clientSecret: 's',
          accounts: { copy: { name: 'inherits the root clientId' } },
        }),
      );
      expect(error.issues).toEqual([
        { path: 'channels.dingtalk.accounts.copy.clientId', message: 'same clientId as account "default"' },
      ]);
    });

    it('the environment sets the root account', () => {
      const config = load(
        { maxChars: 900 },
        { DINGTALK_CLIENT_ID: 'env-id', DINGTALK_CLIENT_SECRET: 'env-s' },
      );
      expect(config.accounts[0]).toMatchObject({
        id: 'default',
        clientId: 'env-id',
        clientSecret: 'env-s',
        maxChars: 900,
      });
    });

    describe('subscriptionsJson', () => {
      it('replaces the default subscription', () => {
        const subscriptions = [
          { type: 'CALLBACK', topic: BOT_MESSAGE_TOPIC },
          { type: 'EVENT', topic: '*' },
        ];
        const config = load({
          clientId: 'i',
          clientSecret: 's',
          subscriptionsJson: JSON.stringify(subscriptions),
        });
        expect(config.accounts[0]?.subscriptions).toEqual(subscriptions);
      });

      it.each([
        ['not JSON', '[{', [{ path: 'channels.dingtalk.subscriptionsJson', message: 'is not valid JSON' }]],
        [
          'an empty list',
          '[]',
          [{ path: 'channels.dingtalk.subscriptionsJson', message: expect.any(String) as string }],
        ],
        [
          'an unknown type',
          '[{"type":"PUSH","topic":"x"}]',
          [{ path: 'channels.dingtalk.subscriptionsJson.0.type', message: expect.any(String) as string }],
        ],
        [
          'an extra key',
          '[{"type":"EVENT","topic":"x","x":1}]',
          [{ path: 'channels.dingtalk.subscriptionsJson.0', message: expect.any(String) as string }],
        ],
        [
          'an object',
          '{"type":"EVENT","topic":"x"}',
          [{ path: 'channels.dingtalk.subscriptionsJson', message: expect.any(String) as string }],
        ],
      ])('rejects %s', (_name, subscriptionsJson, issues) => {
        const error = configError(() => load({ clientId: 'i', clientSecret: 's', subscriptionsJson }));
        expect(error.issues).toEqual(issues);
      });

      it('reports an account subscription problem under the account path', () => {
        const error = configError(() =>
          load({ clientSecret: 's', accounts: { a: { clientId: 'i', subscriptionsJson: 'nope' } } }),
        );
        expect(issuePaths(error)).toEqual(['channels.dingtalk.accounts.a.subscriptionsJson']);
      });
    });
  });

  describe('secret files', () => {
    it('reads clientSecretFile and tokenFile relative to the config file folder, trimmed', () => {
      const cwd = tempDir();
      write(cwd, 'conf/secrets/dingtalk.txt', `  ${SECRET}\n`);
      write(cwd, 'conf/secrets/claw.txt', 'claw-token\n');
      write(cwd, 'conf/gw.json5', {
        openclaw: { tokenFile: 'secrets/claw.txt' },
        channels: { dingtalk: { clientId: 'i', clientSecretFile: 'secrets/dingtalk.txt' } },
      });
      const config = loadConfig({ configPath: 'conf/gw.json5', env: {}, cwd });
      expect(config.accounts[0]?.clientSecret).toBe(SECRET);
      expect(config.openclaw.token).toBe('claw-token');
    });

    it('reads an account secret file with an absolute path', () => {
      const cwd = tempDir();
      const secretPath = write(tempDir(), 'abs.txt', 'abs-secret');
      write(cwd, DEFAULT_CONFIG_FILE, {
        channels: { dingtalk: { accounts: { a: { clientId: 'i', clientSecretFile: secretPath } } } },
      });
      expect(loadConfig({ configPath: undefined, env: {}, cwd }).accounts[0]?.clientSecret).toBe(
        'abs-secret',
      );
    });

    it('prefers an inline secret over a secret file (the file is not read)', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, {
        openclaw: { token: 'inline-token', tokenFile: 'missing-token.txt' },
        channels: { dingtalk: { clientId: 'i', clientSecret: 'inline', clientSecretFile: 'missing.txt' } },
      });
      const config = loadConfig({ configPath: undefined, env: {}, cwd });
      expect(config.accounts[0]?.clientSecret).toBe('inline');
      expect(config.openclaw.token).toBe('inline-token');
    });

    it('reads server.sendApiTokenFile relative to the config file; GATEWAY_SEND_TOKEN wins over it', () => {
      const cwd = tempDir();
      write(cwd, 'conf/send.txt', 'file-send-token-0123456789\n');
      write(cwd, 'conf/gw.json5', { server: { sendApiTokenFile: 'send.txt' } });
      const fromFile = loadConfig({ configPath: 'conf/gw.json5', env: BASE_ENV, cwd });
      expect(fromFile.server.sendApiToken).toBe('file-send-token-0123456789');
      const fromEnv = loadConfig({
        configPath: 'conf/gw.json5',
        env: { ...BASE_ENV, GATEWAY_SEND_TOKEN: 'env-send-token-0123456789' },
        cwd,
      });
      expect(fromEnv.server.sendApiToken).toBe('env-send-token-0123456789');
      expect(JSON.stringify(maskSecrets(fromEnv))).not.toContain('env-send-token');
    });

    it('rejects a send API token shorter than 16 characters', () => {
      const error = configError(() =>
        loadConfig({
          configPath: undefined,
          env: { ...BASE_ENV, GATEWAY_SEND_TOKEN: 'short' },
          cwd: tempDir(),
        }),
      );
      expect(issuePaths(error)).toEqual(['server.sendApiToken']);
    });

    it('OPENCLAW_TOKEN from the environment wins over tokenFile', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, { openclaw: { tokenFile: 'missing.txt' } });
      expect(
        loadConfig({ configPath: undefined, env: { ...BASE_ENV, OPENCLAW_TOKEN: 'env' }, cwd }).openclaw
          .token,
      ).toBe('env');
    });

    it.each([
      ['missing', {}, 'cannot read file (ENOENT)'],
      ['empty', { 'secret.txt': ' \n', 'token.txt': '' }, 'file is empty'],
    ])('reports a %s secret file by key path, together with other issues', (_name, files, message) => {
      const cwd = tempDir();
      for (const [name, text] of Object.entries(files)) write(cwd, name, text);
      write(cwd, DEFAULT_CONFIG_FILE, {
        openclaw: { tokenFile: 'token.txt' },
        channels: {
          dingtalk: {
            clientId: 'i',
            clientSecretFile: 'secret.txt',
            accounts: { b: { clientId: 'b', clientSecretFile: 'secret.txt' } },
          },
        },
      });
      const error = configError(() => loadConfig({ configPath: undefined, env: {}, cwd }));
      expect([...error.issues].sort(byPath)).toEqual(
        [
          { path: 'openclaw.tokenFile', message },
          { path: 'channels.dingtalk.accounts.b.clientSecretFile', message },
          { path: 'channels.dingtalk.clientSecretFile', message },
        ].sort(byPath),
      );
    });
  });

  describe('result', () => {
    it('is deep-frozen', () => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, {
        channels: {
          dingtalk: {
            clientId: 'i',
            clientSecret: 's',
            allowFrom: ['x'],
            accounts: { b: { clientId: 'b' } },
          },
        },
      });
      const config = loadConfig({ configPath: undefined, env: {}, cwd });
      const account = config.accounts[0]!;
      for (const value of [
        config,
        config.server,
        config.openclaw,
        config.accounts,
        account,
        account.connection,
        account.allowFrom,
        account.subscriptions,
        account.subscriptions[0],
        config.document,
        config.document.channels.dingtalk.accounts,
        config.document.channels.dingtalk.accounts['b'],
      ]) {
        expect(Object.isFrozen(value)).toBe(true);
      }
      expect(() => {
        (config.server as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(() => {
        (account.allowFrom as string[]).push('y');
      }).toThrow(TypeError);
      expect(() => {
        (account.connection as { heartbeatTimeoutMs: number }).heartbeatTimeoutMs = 1;
      }).toThrow(TypeError);
    });

    it('freezing one result does not freeze the defaults used by the next load', () => {
      const first = loadConfig({ configPath: undefined, env: BASE_ENV, cwd: tempDir() });
      const second = loadConfig({
        configPath: undefined,
        env: { ...BASE_ENV, LOG_LEVEL: 'warn' },
        cwd: tempDir(),
      });
      expect(first.log.level).toBe('info');
      expect(second.log.level).toBe('warn');
      expect(second.accounts[0]?.connection).toEqual(first.accounts[0]?.connection);
    });
  });

  describe('secrets in errors', () => {
    it.each<[string, unknown]>([
      [
        'a secret with a wrong type elsewhere',
        { channels: { dingtalk: { clientId: 'i', clientSecret: SECRET, maxChars: 'many' } } },
      ],
      ['a secret under a misspelled key', { channels: { dingtalk: { clientId: 'i', clientSecrt: SECRET } } }],
      [
        'a secret where an enum belongs',
        { channels: { dingtalk: { clientId: 'i', clientSecret: 's', replyMode: SECRET } } },
      ],
      ['a secret where a URL belongs', { openclaw: { baseUrl: SECRET, token: SECRET } }],
      ['a secret as agent id', { openclaw: { agentId: `${SECRET} !` } }],
      ['a secret in a number field', { server: { port: SECRET } }],
      ['a secret as an account', { channels: { dingtalk: { accounts: { a: SECRET } } } }],
      [
        'a secret as subscriptionsJson',
        { channels: { dingtalk: { clientId: 'i', clientSecret: 's', subscriptionsJson: SECRET } } },
      ],
      [
        'a duplicate clientId with secrets',
        { channels: { dingtalk: { clientId: 'i', clientSecret: SECRET, accounts: { b: {} } } } },
      ],
      ['a secret in broken JSON5', `{ channels: { dingtalk: { clientSecret: "${SECRET}" } }`],
      ['an unquoted secret in JSON5', `{ openclaw: { token: ${SECRET} } }`],
    ])('never prints the secret value: %s', (_name, document) => {
      const cwd = tempDir();
      write(cwd, DEFAULT_CONFIG_FILE, document);
      const error = configError(() =>
        loadConfig({ configPath: undefined, env: { PORT: SECRET, OPENCLAW_TOKEN: SECRET }, cwd }),
      );
      expect(error.message).not.toContain(SECRET);
      expect(JSON.stringify(error.issues)).not.toContain(SECRET);
      expect(error.message).not.toContain(SECRET.slice(0, 8));
    });
  });
});

function byPath(a: ConfigIssue, b: ConfigIssue): number {
  return a.path.localeCompare(b.path);
}

describe('maskSecrets', () => {
  it('masks clientSecret and token at any depth, in arrays too, and nothing else', () => {
    const input = {
      token: 't0',
      openclaw: { token: 't1', tokenFile: 'token.txt', baseUrl: 'http://x' },
      channels: {
        dingtalk: {
          clientId: 'id',
          clientSecret: 's0',
          clientSecretFile: 'secret.txt',
          accounts: {
            a: { clientSecret: 's1', deeper: { list: [{ token: 't2' }, { clientSecret: 's3', keep: 1 }] } },
          },
        },
      },
      list: [[{ token: 't4' }]],
      count: 3,
      isOn: true,
      nothing: null,
    };
    expect(maskSecrets(input)).toEqual({
      token: MASK,
      openclaw: { token: MASK, tokenFile: 'token.txt', baseUrl: 'http://x' },
      channels: {
        dingtalk: {
          clientId: 'id',
          clientSecret: MASK,
          clientSecretFile: 'secret.txt',
          accounts: {
            a: { clientSecret: MASK, deeper: { list: [{ token: MASK }, { clientSecret: MASK, keep: 1 }] } },
          },
        },
      },
      list: [[{ token: MASK }]],
      count: 3,
      isOn: true,
      nothing: null,
    });
  });

  it('masks secrets that are not strings (the value is never printed)', () => {
    expect(maskSecrets({ token: { nested: 'x' }, clientSecret: 12345 })).toEqual({
      token: MASK,
      clientSecret: MASK,
    });
  });

  it('leaves an unset secret unset, so the output shows it is missing', () => {
    expect(maskSecrets({ token: undefined, clientSecret: 'x' })).toEqual({
      token: undefined,
      clientSecret: MASK,
    });
  });

  it('returns a copy and leaves the input untouched', () => {
    const input = Object.freeze({ a: Object.freeze({ token: 'secret' }) });
    const masked = maskSecrets(input);
    expect(input.a.token).toBe('secret');
    expect(masked).not.toBe(input);
  });

  it.each([['text'], [42], [null], [undefined], [true]])('passes %j through', (value) => {
    expect(maskSecrets(value)).toBe(value);
  });

  it('masks a loaded config document without leaking secrets', () => {
    const cwd = tempDir();
    write(cwd, DEFAULT_CONFIG_FILE, {
      openclaw: { token: `${SECRET}-claw` },
      channels: {
        dingtalk: {
          clientId: 'i',
          clientSecret: SECRET,
          accounts: { b: { clientId: 'b', clientSecret: `${SECRET}-b` } },
        },
      },
    });
    const config = loadConfig({ configPath: undefined, env: {}, cwd });
    const printed = JSON.stringify(maskSecrets(config.document));
    expect(printed).not.toContain(SECRET);
    expect(printed).toContain('"clientId":"i"');
  });
});
