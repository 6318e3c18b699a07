import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import dotenv from 'dotenv';
import JSON5 from 'json5';

import { ConfigError, type ConfigIssue } from '../errors.js';
import { resolveAccounts, readSecretFile } from './accounts.js';
import { applyEnvOverlay } from './env-overlay.js';
import { deriveWsUrl, isLoopbackUrl } from '../openclaw/ws/ws-url.js';
import { ConfigFileSchema, type ConfigFile } from './schema.js';
import type { GatewayConfig, OpenClawConfig } from './types.js';

/** File used when neither `--config` nor `GATEWAY_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = 'config.json5';

export interface LoadConfigOptions {
  /** From `--config`; wins over `GATEWAY_CONFIG`. */
  readonly configPath: string | undefined;
  /** Usually `process.env`. Never mutated. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Base for relative paths of the config file, `.env` and `state.dir`. Secret files
   * (`clientSecretFile`, `tokenFile`) are relative to the config file's folder instead.
   */
  readonly cwd: string;
}

/**
 * Loads the configuration: the JSON5 file (explicit, `GATEWAY_CONFIG`, or `./config.json5` when
 * present), then `.env` in `cwd` and the environment on top. Validates everything at once and
 * throws a {@link ConfigError} listing every problem by key path. The result is deep-frozen.
 */
export function loadConfig(options: LoadConfigOptions): GatewayConfig {
  const env = { ...readDotEnv(options.cwd), ...options.env };
  const issues: ConfigIssue[] = [];

  const explicit = options.configPath ?? nonEmpty(env['GATEWAY_CONFIG']);
  const file =
    explicit ?? (existsSync(resolve(options.cwd, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  const filePath = file === undefined ? undefined : resolve(options.cwd, file);
  const document = filePath === undefined ? {} : readDocument(filePath, issues);
  if (issues.length > 0) throw configError(issues);

  issues.push(...applyEnvOverlay(document, env));
  const parsed = ConfigFileSchema.safeParse(document);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({
        path: issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.'),
        message: issue.message,
      });
    }
    throw configError(issues);
  }
  const config = parsed.data;
  const baseDir = filePath === undefined ? options.cwd : dirname(filePath);

  let token = config.openclaw.token;
  if (token === undefined && config.openclaw.tokenFile !== undefined) {
    token = readSecretFile(config.openclaw.tokenFile, baseDir, 'openclaw.tokenFile', issues);
  }
  let sendApiToken = config.server.sendApiToken;
  if (sendApiToken === undefined && config.server.sendApiTokenFile !== undefined) {
    sendApiToken = readSecretFile(config.server.sendApiTokenFile, baseDir, 'server.sendApiTokenFile', issues);
  }
  const accounts = resolveAccounts(config.channels.dingtalk, baseDir, issues);
  if (issues.length > 0) throw configError(issues);

  return deepFreeze({
    server: {
      host: config.server.host,
      port: config.server.port,
      shutdownGraceMs: config.server.shutdownGraceMs,
      sendApiToken,
      sendApiRateLimitRequests: config.server.sendApiRateLimitRequests,
      sendApiRateLimitWindowMs: config.server.sendApiRateLimitWindowMs,
    },
    openclaw: openClawConfig(config, token, options.cwd),
    state: { ...config.state, dir: resolve(options.cwd, config.state.dir) },
    delivery: config.delivery,
    media: config.media,
    log: config.log,
    accounts,
    source: filePath ?? 'environment only',
    document: config,
  });
}

/** `text` with control and line-separator characters as `\uXXXX`: a key like `"a\nb"` stays on its line. */
function printable(text: string): string {
  let result = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    const isControl = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    result += isControl ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return result;
}

/** The error for `issues`, each path and message on one line. */
function configError(issues: readonly ConfigIssue[]): ConfigError {
  return new ConfigError(
    issues.map((issue) => ({ path: printable(issue.path), message: printable(issue.message) })),
  );
}

/** Name of the device identity file in the state folder when `openclaw.deviceIdentityFile` is unset. */
export const DEVICE_IDENTITY_FILE = 'openclaw-device.json';

function openClawConfig(config: ConfigFile, token: string | undefined, cwd: string): OpenClawConfig {
  const openclaw = config.openclaw;
  const wsUrl = openclaw.wsUrl ?? deriveWsUrl(openclaw.baseUrl);
  const usesDevice =
    openclaw.transport === 'ws' &&
    (openclaw.deviceIdentity === 'always' || (openclaw.deviceIdentity === 'auto' && !isLoopbackUrl(wsUrl)));
  return {
    baseUrl: openclaw.baseUrl,
    token,
    agentId: openclaw.agentId,
    maxConcurrentTurns: openclaw.maxConcurrentTurns,
    timeoutMs: openclaw.timeoutMs,
    connectTimeoutMs: openclaw.connectTimeoutMs,
    transport: openclaw.transport,
    wsUrl,
    requestTimeoutMs: openclaw.requestTimeoutMs,
    // Relative to the working folder, like state.dir; by default in the state folder.
    deviceIdentityFile: usesDevice
      ? resolve(cwd, openclaw.deviceIdentityFile ?? join(config.state.dir, DEVICE_IDENTITY_FILE))
      : undefined,
    requestAdminScope: openclaw.requestAdminScope,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function readDotEnv(cwd: string): Record<string, string> {
  const path = resolve(cwd, '.env');
  if (!existsSync(path)) return {};
  // parse() instead of config(): the gateway reads `.env` without mutating process.env.
  return dotenv.parse(readFileSync(path));
}

function readDocument(path: string, issues: ConfigIssue[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    issues.push({
      path: 'config file',
      message: `cannot read ${path} (${typeof code === 'string' ? code : 'error'})`,
    });
    return {};
  }
  let value: unknown;
  try {
    value = JSON5.parse(text);
  } catch (error) {
    // JSON5's message quotes at most the one offending character, never a whole value.
    const where = error instanceof SyntaxError ? error.message.replace(/^JSON5: /, '') : 'syntax error';
    issues.push({ path: 'config file', message: `${path} is not valid JSON5: ${where}` });
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path: '(root)', message: 'the config file must contain an object' });
    return {};
  }
  return value as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
