import type { ConfigFile, ConnectionConfig, LogLevel, ThinkingLevel } from './schema.js';

/** One Stream subscription sent to connections/open. */
export interface StreamSubscription {
  readonly type: string;
  readonly topic: string;
}

/** A DingTalk bot account after inheritance from the channel root and secret resolution. */
export interface AccountConfig {
  /** `default` for the channel root, else the key under `accounts`. */
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly replyMode: 'text' | 'markdown';
  readonly maxChars: number;
  readonly tableMode: 'code' | 'off';
  readonly allowFrom: readonly string[];
  readonly requireMention: boolean;
  readonly requirePrefix: string | undefined;
  readonly isolateContextPerUserInGroup: boolean;
  readonly mentionBypassUsers: readonly string[];
  readonly responsePrefix: string | undefined;
  readonly showToolStatus: boolean;
  readonly showToolResult: boolean;
  readonly thinking: ThinkingLevel;
  readonly apiBase: string;
  readonly oapiBase: string;
  readonly openPath: string;
  readonly subscriptions: readonly StreamSubscription[];
  readonly mediaRoots: readonly string[];
  readonly connection: ConnectionConfig;
}

/** OpenClaw connection settings with the token resolved from `token`, `tokenFile` or env. */
export interface OpenClawConfig {
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly agentId: string;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** Delivery guarantees: ages, rate limits, queue bounds, retries. */
export type DeliveryConfig = Readonly<ConfigFile['delivery']>;

/** Limits and switches for pictures and files in both directions. */
export type MediaConfig = Readonly<ConfigFile['media']>;

/** The validated, deep-frozen configuration every component receives. */
export interface GatewayConfig {
  readonly server: { readonly host: string; readonly port: number; readonly shutdownGraceMs: number };
  readonly openclaw: OpenClawConfig;
  readonly state: { readonly dir: string; readonly dedupeTtlMs: number };
  readonly delivery: DeliveryConfig;
  readonly media: MediaConfig;
  readonly log: { readonly level: LogLevel };
  /** Enabled accounts only, in a stable order (`default` first). */
  readonly accounts: readonly AccountConfig[];
  /** Where the config came from, for the start-up log line. */
  readonly source: string;
  /** The merged file+env document (secrets included: print only through `maskSecrets`). */
  readonly document: ConfigFile;
}
