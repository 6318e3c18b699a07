import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { z } from 'zod';

import type { ConfigIssue } from '../errors.js';
import type { AccountOverride, DingTalkChannelConfig } from './schema.js';
import type { AccountConfig, StreamSubscription } from './types.js';

/** The id of the account configured at the channel root. */
export const DEFAULT_ACCOUNT_ID = 'default';

/** The bot-message callback topic every account subscribes to unless `subscriptionsJson` says otherwise. */
export const BOT_MESSAGE_TOPIC = '/v1.0/im/bot/messages/get';

const DEFAULT_SUBSCRIPTIONS: readonly StreamSubscription[] = [{ type: 'CALLBACK', topic: BOT_MESSAGE_TOPIC }];

const SubscriptionsSchema = z
  .array(z.strictObject({ type: z.enum(['CALLBACK', 'EVENT', 'SYSTEM']), topic: z.string().min(1) }))
  .min(1);

/** Reads a secret from a file: trimmed, relative paths resolved against `baseDir`. */
export function readSecretFile(
  file: string,
  baseDir: string,
  path: string,
  issues: ConfigIssue[],
): string | undefined {
  try {
    const value = readFileSync(resolve(baseDir, file), 'utf8').trim();
    if (value === '') issues.push({ path, message: 'file is empty' });
    return value === '' ? undefined : value;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    issues.push({ path, message: `cannot read file (${typeof code === 'string' ? code : 'error'})` });
    return undefined;
  }
}

function parseSubscriptions(
  json: string | undefined,
  path: string,
  issues: ConfigIssue[],
): StreamSubscription[] {
  if (json === undefined) return [...DEFAULT_SUBSCRIPTIONS];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    issues.push({ path, message: 'is not valid JSON' });
    return [];
  }
  const result = SubscriptionsSchema.safeParse(parsed);
  if (!result.success) {
    for (const issue of result.error.issues) {
      issues.push({ path: [path, ...issue.path.map(String)].join('.'), message: issue.message });
    }
    return [];
  }
  return result.data;
}

/**
 * Expands the channel root and `accounts.<id>` into the list of enabled accounts. Each account
 * inherits every channel key and overrides it (`connection` is merged key by key). The root is an
 * account (`default`) when it has a clientId or when `accounts.default` exists.
 */
export function resolveAccounts(
  channel: DingTalkChannelConfig,
  baseDir: string,
  issues: ConfigIssue[],
): AccountConfig[] {
  if (!channel.enabled) return [];
  const { accounts, ...root } = channel;
  const ids = Object.keys(accounts);
  if (root.clientId !== undefined && !ids.includes(DEFAULT_ACCOUNT_ID)) ids.unshift(DEFAULT_ACCOUNT_ID);
  if (ids.length === 0) {
    issues.push({
      path: 'channels.dingtalk.clientId',
      message: 'no DingTalk account configured: set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET',
    });
    return [];
  }
  ids.sort((a, b) => (a === DEFAULT_ACCOUNT_ID ? -1 : b === DEFAULT_ACCOUNT_ID ? 1 : a.localeCompare(b)));

  const resolved: AccountConfig[] = [];
  for (const id of ids) {
    const {
      connection: connectionOverride,
      senderRateLimit: rateLimitOverride,
      card: cardOverride,
      indicator: indicatorOverride,
      ...override
    }: AccountOverride = accounts[id] ?? {};
    const prefix =
      id === DEFAULT_ACCOUNT_ID && accounts[id] === undefined
        ? 'channels.dingtalk'
        : `channels.dingtalk.accounts.${id}`;
    const merged = {
      ...mergeDefined(root, override),
      connection: mergeDefined(root.connection, connectionOverride ?? {}),
      senderRateLimit: mergeDefined(root.senderRateLimit, rateLimitOverride ?? {}),
      card: mergeDefined(root.card, cardOverride ?? {}),
      indicator: mergeDefined(root.indicator, indicatorOverride ?? {}),
    };
    if (!merged.enabled) continue;

    // The most specific setting wins: the account's own secret or secret file, then the root's.
    const ownSecretFile = override.clientSecret === undefined ? override.clientSecretFile : undefined;
    const secretFile =
      ownSecretFile ?? (merged.clientSecret === undefined ? merged.clientSecretFile : undefined);
    const secretFilePath =
      ownSecretFile === undefined ? 'channels.dingtalk.clientSecretFile' : `${prefix}.clientSecretFile`;
    const clientSecret =
      secretFile === undefined
        ? merged.clientSecret
        : readSecretFile(secretFile, baseDir, secretFilePath, issues);
    if (merged.clientId === undefined) {
      issues.push({ path: `${prefix}.clientId`, message: 'required (the DingTalk app Client ID)' });
    }
    if (clientSecret === undefined && secretFile === undefined) {
      issues.push({ path: `${prefix}.clientSecret`, message: 'required (or clientSecretFile)' });
    }
    if (merged.connection.reconnectMaxDelayMs < merged.connection.reconnectInitialDelayMs) {
      issues.push({
        path: `${prefix}.connection.reconnectMaxDelayMs`,
        message: 'must be at least reconnectInitialDelayMs',
      });
    }
    const subscriptions = parseSubscriptions(merged.subscriptionsJson, `${prefix}.subscriptionsJson`, issues);
    if (merged.clientId === undefined || clientSecret === undefined) continue;

    resolved.push({
      id,
      name: merged.name ?? id,
      clientId: merged.clientId,
      clientSecret,
      replyMode: merged.replyMode,
      maxChars: merged.maxChars,
      tableMode: merged.tableMode,
      allowFrom: merged.allowFrom,
      requireMention: merged.requireMention,
      requirePrefix: merged.requirePrefix,
      isolateContextPerUserInGroup: merged.isolateContextPerUserInGroup,
      mentionBypassUsers: merged.mentionBypassUsers,
      responsePrefix: merged.responsePrefix,
      showToolStatus: merged.showToolStatus,
      showToolResult: merged.showToolResult,
      thinking: merged.thinking,
      apiBase: merged.apiBase,
      oapiBase: merged.oapiBase,
      openPath: merged.openPath,
      subscriptions,
      mediaRoots: merged.mediaRoots,
      maxInboundChars: merged.maxInboundChars,
      senderRateLimit: merged.senderRateLimit,
      downloadHosts: merged.downloadHosts,
      commands: merged.commands,
      card: merged.card,
      indicator: merged.indicator,
      connection: merged.connection,
    });
  }
  const clientIds = new Map<string, string>();
  for (const account of resolved) {
    const other = clientIds.get(account.clientId);
    if (other !== undefined) {
      issues.push({
        path: `channels.dingtalk.accounts.${account.id}.clientId`,
        message: `same clientId as account "${other}"`,
      });
    }
    clientIds.set(account.clientId, account.id);
  }
  return resolved;
}

/** `base` with every key that `override` defines (not undefined) replaced. */
function mergeDefined<T extends object>(
  base: T,
  override: { readonly [K in keyof T]?: T[K] | undefined },
): T {
  const result: T = { ...base };
  for (const key of Object.keys(override) as (keyof T)[]) {
    const value = override[key];
    if (value !== undefined) result[key] = value;
  }
  return result;
}
