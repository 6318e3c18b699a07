import type { ConfigFile, ConnectionConfig, LogLevel, ThinkingLevel } from './schema.js';

/** Streaming AI card settings of an account. */
export type CardConfig = Readonly<ConfigFile['channels']['dingtalk']['card']>;
/** "Bot is working" indicator settings of an account. */
export type IndicatorConfig = Readonly<ConfigFile['channels']['dingtalk']['indicator']>;

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
  readonly replyMode: 'text' | 'markdown' | 'card';
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
  /** Longest message text handed to the agent (longer text is cut, with a note). */
  readonly maxInboundChars: number;
  /** Per-sender flood limit at intake; `messages: 0` = none. */
  readonly senderRateLimit: { readonly messages: number; readonly windowMs: number };
  /** Host patterns inbound files may be downloaded from (apiBase/oapiBase hosts come on top). */
  readonly downloadHosts: readonly string[];
  readonly commands: { readonly enabled: boolean };
  readonly card: CardConfig;
  readonly indicator: IndicatorConfig;
  readonly connection: ConnectionConfig;
}

/** OpenClaw connection settings with the token resolved from `token`, `tokenFile` or env. */
export interface OpenClawConfig {
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly agentId: string;
  readonly maxConcurrentTurns: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly transport: 'http' | 'ws';
  /** `openclaw.wsUrl`, else derived from `baseUrl`. */
  readonly wsUrl: string;
  readonly requestTimeoutMs: number;
  /** Absolute path of the device identity file when one is used (per `deviceIdentity`), else `undefined`. */
  readonly deviceIdentityFile: string | undefined;
  readonly requestAdminScope: boolean;
}

/** The HTTP server, shutdown, and the send API (token resolved from `sendApiToken`, its file or env). */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly shutdownGraceMs: number;
  /** Bearer token of `POST /v1/messages`; the API is disabled when undefined. */
  readonly sendApiToken: string | undefined;
  readonly sendApiRateLimitRequests: number;
  readonly sendApiRateLimitWindowMs: number;
}

/** Delivery guarantees: ages, rate limits, queue bounds, retries. */
export type DeliveryConfig = Readonly<ConfigFile['delivery']>;

/** Limits and switches for pictures and files in both directions. */
export type MediaConfig = Readonly<ConfigFile['media']>;

/** The validated, deep-frozen configuration every component receives. */
export interface GatewayConfig {
  readonly server: ServerConfig;
  readonly openclaw: OpenClawConfig;
  readonly state: {
    readonly dir: string;
    readonly dedupeTtlMs: number;
    readonly leaseTtlMs: number;
    readonly sweepIntervalMs: number;
    /** When set, state lives in this Redis (shared by replicas) instead of SQLite in `dir`. */
    readonly redisUrl?: string | undefined;
    readonly redisKeyPrefix: string;
  };
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
