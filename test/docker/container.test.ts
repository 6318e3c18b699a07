import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { ENV_KEYS } from '../../src/config/env-overlay.js';
import { FakeDingTalk } from '../fakes/fake-dingtalk.js';
import { FakeOpenClaw } from '../fakes/fake-openclaw.js';
import {
  GATEWAY_START_COMMAND,
  GATEWAY_START_ENV,
  GatewayProcess,
  REPO_ROOT,
} from '../helpers/gateway-process.js';
import { testConfig } from '../helpers/test-config.js';

const run = promisify(execFile);

interface ComposeService {
  build: string | { context: string };
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  healthcheck: { test: string[] };
  read_only?: boolean;
  user?: string;
  tmpfs?: string[];
  privileged?: boolean;
  cap_add?: string[];
  image?: string;
  profiles?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  cap_drop?: string[];
  security_opt?: string[];
}

// Compose resolves YAML merge keys (`<<: *anchor`), so the test does too.
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** The instructions of the last stage (the runtime image). */
function runtimeStage(): string[] {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n');
  const lastFrom = lines.map((line) => line.startsWith('FROM ')).lastIndexOf(true);
  return lines.slice(lastFrom).filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

function instruction(name: string): string[] {
  return runtimeStage()
    .filter((line) => line.startsWith(`${name} `))
    .map((line) => line.slice(name.length + 1).trim());
}

describe('Dockerfile', () => {
  it('runs on Node 22 (better-sqlite3 aborts on Node 24), as a non-root user, with state on a volume', () => {
    expect(instruction('FROM')[0]).toMatch(/^node:22[\w.-]* AS runtime$/);
    // The build stage compiles better-sqlite3 against the same Node as the runtime loads it with.
    expect(dockerfile.match(/^FROM node:22[\w.-]* AS (build|runtime)$/gm)).toHaveLength(2);
    expect(instruction('USER')).toEqual(['node']);
    expect(instruction('WORKDIR')).toEqual(['/app']);
    expect(instruction('VOLUME')).toEqual(['["/app/state"]']);
    expect(dockerfile).toMatch(/chown node:node \/app\/state/);
  });

  it('switches to the non-root user before anything runs and keeps state where the app writes it', () => {
    const stage = runtimeStage();
    const userLine = stage.findIndex((line) => line.startsWith('USER '));
    const lastRun = stage.findLastIndex((line) => line.startsWith('RUN '));
    expect(userLine).toBeGreaterThan(lastRun);
    expect(stage.findIndex((line) => line.startsWith('CMD '))).toBeGreaterThan(userLine);
    // state.dir defaults to ./state, relative to WORKDIR /app: the volume, and nothing overrides it.
    expect(dockerfile).not.toMatch(/STATE_DIR|GATEWAY_CONFIG/);
    expect(compose.services['gateway']!.environment).not.toHaveProperty('GATEWAY_CONFIG');
  });

  it('starts with exactly the command the end-to-end tests run', () => {
    expect(JSON.parse(instruction('CMD')[0]!)).toEqual([...GATEWAY_START_COMMAND]);
  });

  it('sets the environment the end-to-end tests and the benchmark start the daemon with', () => {
    const variables = new Map(
      instruction('ENV')
        .flatMap((line) => line.split(/\s+/))
        .map((pair): [string, string] => [
          pair.slice(0, pair.indexOf('=')),
          pair.slice(pair.indexOf('=') + 1),
        ]),
    );
    for (const [name, value] of Object.entries(GATEWAY_START_ENV)) expect(variables.get(name)).toBe(value);
    // The malloc settings are glibc's: the image must not run on musl (Alpine), which ignores them.
    expect(dockerfile).not.toMatch(/alpine/);
  });

  it('is multi-stage: the runtime copies only dist, production node_modules and package.json', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(instruction('COPY').every((line) => line.startsWith('--from=build'))).toBe(true);
    expect(dockerfile).toContain('npm prune --omit=dev');
  });
});

describe('docker-compose.yml', () => {
  const service = compose.services['gateway']!;

  it('reads the credentials and OpenClaw settings from the environment or .env', () => {
    expect(service.build).toBe('.');
    for (const name of [
      'DINGTALK_CLIENT_ID',
      'DINGTALK_CLIENT_SECRET',
      'OPENCLAW_BASE_URL',
      'OPENCLAW_TOKEN',
      'OPENCLAW_AGENT_ID',
      'DINGTALK_MEDIA_ROOTS',
      'PORT',
      'LOG_LEVEL',
    ]) {
      expect(service.environment[name]).toMatch(new RegExp(`^\\$\\{${name}[:?-]`));
    }
    // The two credentials are required: compose refuses to start without them.
    expect(service.environment['DINGTALK_CLIENT_ID']).toContain(':?');
    expect(service.environment['DINGTALK_CLIENT_SECRET']).toContain(':?');
  });

  it('publishes the port, keeps state on a named volume and runs read-only', () => {
    expect(service.ports).toEqual(['127.0.0.1:${PORT:-8080}:${PORT:-8080}']);
    expect(service.volumes).toContain('gateway-state:/app/state');
    expect(Object.keys(compose.volumes)).toContain('gateway-state');
    expect(service.read_only).toBe(true);
  });

  it('can write only to the state volume and a tmpfs /tmp, as the image user', () => {
    expect(service.read_only).toBe(true);
    expect(service.tmpfs).toEqual(['/tmp']);
    // Every other mount is read-only (the optional workspace and config file examples say `:ro`).
    const writable = service.volumes.filter((volume) => !volume.endsWith(':ro'));
    expect(writable).toEqual(['gateway-state:/app/state']);
    const commentedMounts = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')
      .split('\n')
      .filter((line) => /^\s*#\s*- .+:.+/.test(line));
    expect(commentedMounts.length).toBeGreaterThan(0);
    expect(commentedMounts.every((line) => line.trimEnd().endsWith(':ro'))).toBe(true);
    // Nothing undoes the image's unprivileged user or adds privileges.
    expect(service.user).toBeUndefined();
    expect(service.privileged).toBeUndefined();
    expect(service.cap_add).toBeUndefined();
  });

  it('has the same health check as the image', () => {
    const [kind, ...command] = service.healthcheck.test;
    expect(kind).toBe('CMD');
    const imageCheck = JSON.parse(instruction('HEALTHCHECK')[0]!.replace(/^.*?CMD /, '')) as string[];
    expect(command).toEqual(imageCheck);
  });
});

describe('docker-compose.yml, profile replicas', () => {
  const gateway = compose.services['gateway']!;
  const redis = compose.services['redis']!;
  const replicas = ['gateway-a', 'gateway-b'].map((name) => compose.services[name]!);

  it('puts Redis and two replicas in the optional profile and leaves the single gateway outside it', () => {
    expect(gateway.profiles).toBeUndefined();
    for (const service of [redis, ...replicas]) expect(service.profiles).toEqual(['replicas']);
    // The README and the file header start the profile by naming its services, without `gateway`.
    expect(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')).toContain(
      'docker compose --profile replicas up -d redis gateway-a gateway-b',
    );
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(
      'docker compose --profile replicas up -d redis gateway-a gateway-b',
    );
  });

  it('runs a healthy, persistent Redis that the replicas wait for and share through REDIS_URL', () => {
    expect(redis.image).toMatch(/^redis:\d/);
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', 'always']));
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(ENV_KEYS.REDIS_URL).toEqual(['state', 'redisUrl']);
    for (const replica of replicas) {
      expect(replica.environment['REDIS_URL']).toBe('redis://redis:6379');
      expect(replica.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    }
  });

  it('gives both replicas the same app credentials and settings as the single gateway', () => {
    for (const replica of replicas) {
      expect(replica.environment).toEqual({
        ...gateway.environment,
        REDIS_URL: 'redis://redis:6379',
        PORT: '8080',
      });
      expect(replica.build).toBe(gateway.build);
      expect(replica.image).toBe(gateway.image);
      expect(replica.healthcheck).toEqual(gateway.healthcheck);
    }
  });

  it('gives each replica its own port and state volume, read-only and unprivileged like the gateway', () => {
    expect(replicas.map((replica) => replica.ports)).toEqual([
      ['127.0.0.1:${GATEWAY_A_PORT:-8081}:8080'],
      ['127.0.0.1:${GATEWAY_B_PORT:-8082}:8080'],
    ]);
    expect(replicas.map((replica) => replica.volumes)).toEqual([
      ['gateway-a-state:/app/state'],
      ['gateway-b-state:/app/state'],
    ]);
    expect(Object.keys(compose.volumes)).toEqual(
      expect.arrayContaining(['gateway-a-state', 'gateway-b-state']),
    );
    for (const replica of replicas) {
      expect(replica.read_only).toBe(true);
      expect(replica.tmpfs).toEqual(['/tmp']);
      expect(replica.cap_drop).toEqual(['ALL']);
      expect(replica.security_opt).toEqual(gateway.security_opt);
      expect(replica.user).toBeUndefined();
      expect(replica.cap_add).toBeUndefined();
    }
  });
});

describe('the health check command', () => {
  let dingtalk: FakeDingTalk;
  let openclaw: FakeOpenClaw;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    dingtalk = await FakeDingTalk.start();
    openclaw = await FakeOpenClaw.start();
    gateway = await GatewayProcess.start({ config: testConfig(dingtalk, openclaw) });
  });

  afterAll(async () => {
    await gateway.kill();
    await dingtalk.close();
    await openclaw.close();
  });

  it('exits 0 against a running gateway and 1 when nothing listens', async () => {
    const [, ...command] = compose.services['gateway']!.healthcheck.test;
    const [binary, ...args] = command;
    expect(binary).toBe('node');
    const port = new URL(gateway.baseUrl).port;
    await expect(run(process.execPath, args, { env: { PORT: port } })).resolves.toBeDefined();
    await expect(run(process.execPath, args, { env: { PORT: '9' } })).rejects.toMatchObject({ code: 1 });
  });
});
