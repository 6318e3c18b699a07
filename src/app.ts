import { Bridge } from './bridge/bridge.js';
import { Dispatcher } from './bridge/dispatcher.js';
import { createMediaServices } from './bridge/media-services.js';
import { createReactionService } from './bridge/working-indicator.js';
import { CardService } from './cards/card-service.js';
import type { GatewayConfig } from './config/types.js';
import { ConversationOutbox } from './delivery/conversation-outbox.js';
import { type DeliveryPath, ReplyRouter } from './delivery/reply-router.js';
import { OutboundMessenger } from './delivery/send-message.js';
import { AccessTokenCache } from './dingtalk/api/access-token.js';
import { DEFAULT_DINGTALK_HTTP_OPTIONS, DingTalkHttp } from './dingtalk/api/http-client.js';
import { downloadHostsFor } from './dingtalk/api/message-files.js';
import type { ProactiveSender } from './dingtalk/api/robot-send.js';
import { originsOf } from './dingtalk/allowed-origins.js';
import { STREAM_RECONNECT_POLICY } from './dingtalk/stream/backoff.js';
import { StreamClient } from './dingtalk/stream/stream-client.js';
import type { GatewayError } from './errors.js';
import { type AccountReadiness, buildHttpServer } from './http/server.js';
import { runShutdown } from './lifecycle/shutdown.js';
import type { Logger } from './log/logger.js';
import { maskUrl } from './log/redact.js';
import { type GatewayMetrics, createMetrics } from './metrics/metrics.js';
import { RemoteFetcher } from './media/remote-fetch.js';
import { OpenClawChatClient } from './openclaw/chat-client.js';
import type { AgentTransport } from './openclaw/agent-transport.js';
import { HttpAgentTransport } from './openclaw/http-transport.js';
import { WsAgentTransport } from './openclaw/ws/ws-transport.js';
import { RedisStateStore } from './state/redis-store.js';
import { SqliteStateStore } from './state/sqlite-store.js';

// Bounds for the shutdown steps that have no configured grace of their own.
const STREAM_STOP_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;
// How often expired dedupe keys and idle rate-limit windows are dropped.
const HOUSEKEEPING_INTERVAL_MS = 60_000;
// Reply send retries: 0.5 s doubling to 8 s.
const SEND_RETRY_BACKOFF = { ...STREAM_RECONNECT_POLICY, initialDelayMs: 500, maxDelayMs: 8_000 };

export interface App {
  /** Opens the state, resumes unfinished messages, listens, and opens every account's stream. */
  start(): Promise<string>;
  /** Ordered, bounded, idempotent shutdown (STYLE.md D2). */
  stop(): Promise<void>;
  /** Resolves when every account failed fatally (credentials refused): the process should exit. */
  readonly allAccountsFailed: Promise<GatewayError>;
  readonly metrics: GatewayMetrics;
}

/** The composition root: the only place that creates components and wires them together. */
export function createApp(config: GatewayConfig, logger: Logger, version: string): App {
  const now = Date.now;
  const metrics = createMetrics({ collectProcessMetrics: true });
  const store =
    config.state.redisUrl === undefined
      ? new SqliteStateStore({ dir: config.state.dir, dedupeTtlMs: config.state.dedupeTtlMs })
      : new RedisStateStore({
          url: config.state.redisUrl,
          keyPrefix: config.state.redisKeyPrefix,
          dedupeTtlMs: config.state.dedupeTtlMs,
          logger,
        });
  const http = new DingTalkHttp({
    ...DEFAULT_DINGTALK_HTTP_OPTIONS,
    onCall: (endpoint, status) => metrics.dingtalkApiCalls.inc({ endpoint, status }),
  });
  const openclawLog = logger.child({ component: 'openclaw.client' });
  const agent: AgentTransport =
    config.openclaw.transport === 'ws'
      ? new WsAgentTransport({
          url: config.openclaw.wsUrl,
          httpBaseUrl: config.openclaw.baseUrl,
          token: config.openclaw.token,
          timeoutMs: config.openclaw.timeoutMs,
          connectTimeoutMs: config.openclaw.connectTimeoutMs,
          requestTimeoutMs: config.openclaw.requestTimeoutMs,
          deviceIdentityFile: config.openclaw.deviceIdentityFile,
          requestAdminScope: config.openclaw.requestAdminScope,
          maxArtifactBytes: config.media.maxOutboundFileBytes,
          clientVersion: version,
          logger: openclawLog,
        })
      : new HttpAgentTransport(
          new OpenClawChatClient({
            baseUrl: config.openclaw.baseUrl,
            token: config.openclaw.token,
            timeoutMs: config.openclaw.timeoutMs,
            connectTimeoutMs: config.openclaw.connectTimeoutMs,
            logger: openclawLog,
          }),
        );
  const tokens = new Map(
    config.accounts.map((account) => [
      account.id,
      new AccessTokenCache({
        http,
        apiBase: account.apiBase,
        appKey: account.clientId,
        appSecret: account.clientSecret,
      }),
    ]),
  );
  const tokensFor = (accountId: string): AccessTokenCache => {
    const cache = tokens.get(accountId);
    if (cache === undefined) throw new Error(`no token cache for account ${accountId}`);
    return cache;
  };
  const proactive = new Map<string, ProactiveSender>(
    config.accounts.map((account) => [
      account.id,
      { apiBase: account.apiBase, robotCode: account.clientId, http, tokens: tokensFor(account.id) },
    ]),
  );
  const remote = new RemoteFetcher({
    maxBytes: config.media.maxOutboundFileBytes,
    timeoutMs: config.media.fetchTimeoutMs,
    allowPrivateNetworks: config.media.allowPrivateNetworks,
  });
  const media = createMediaServices({
    http,
    accounts: new Map(
      config.accounts.map((account) => [
        account.id,
        {
          apiBase: account.apiBase,
          oapiBase: account.oapiBase,
          robotCode: account.clientId,
          tokens: tokensFor(account.id),
          downloadHosts: downloadHostsFor(account.downloadHosts, [account.apiBase, account.oapiBase]),
        },
      ]),
    ),
    limits: config.media,
    remote,
    onCall: (endpoint, status) => metrics.dingtalkApiCalls.inc({ endpoint, status }),
    metrics,
  });
  const router = new ReplyRouter({
    http,
    proactive,
    allowedOrigins: new Map(
      config.accounts.map((account) => [account.id, originsOf([account.apiBase, account.oapiBase])]),
    ),
    policy: {
      webhookSafetyMarginMs: config.delivery.webhookSafetyMarginMs,
      attempts: config.delivery.sendAttempts,
      retryBackoff: SEND_RETRY_BACKOFF,
    },
    metrics,
    now,
  });
  const outbox = new ConversationOutbox<DeliveryPath>({
    limitPerWindow: config.delivery.rateLimitMessages,
    windowMs: config.delivery.rateLimitWindowMs,
    now,
  });
  const dispatcher = new Dispatcher({
    logger,
    leaseTtlMs: config.state.leaseTtlMs,
    maxConcurrentTurns: config.openclaw.maxConcurrentTurns,
    sweepIntervalMs: config.state.sweepIntervalMs,
    deps: {
      agent,
      agentId: config.openclaw.agentId,
      store,
      outbox,
      router,
      accounts: new Map(config.accounts.map((account) => [account.id, account])),
      delivery: config.delivery,
      media: config.media,
      inboundMedia: media.inbound,
      replyMedia: media.reply,
      cards: new CardService({
        http,
        logger,
        now,
        accounts: new Map(
          config.accounts.map((account) => [
            account.id,
            {
              apiBase: account.apiBase,
              robotCode: account.clientId,
              tokens: tokensFor(account.id),
              card: account.card,
            },
          ]),
        ),
      }),
      reactions: createReactionService(
        http,
        new Map(
          config.accounts.map((account) => [
            account.id,
            { apiBase: account.apiBase, robotCode: account.clientId, tokens: tokensFor(account.id) },
          ]),
        ),
        logger,
      ),
      metrics,
      now,
    },
  });
  const bridge = new Bridge({
    accounts: config.accounts,
    store,
    dispatcher,
    maxQueuePerConversation: config.delivery.maxQueuePerConversation,
    commands: {
      store,
      transport: agent,
      agentId: config.openclaw.agentId,
      stopRunning: (queueKey) => dispatcher.stopRunning(queueKey),
      queueDepth: (queueKey) => store.queueLength(queueKey),
      outbox,
      router,
    },
    logger,
    metrics,
    now,
  });
  metrics.observeDepths({
    inbox: () => store.inboxDepth(),
    queue: () => dispatcher.queueDepth(),
    outbox: () => outbox.waiting,
  });

  const failedAccounts = new Set<string>();
  let reportAllFailed: (error: GatewayError) => void = () => undefined;
  const allAccountsFailed = new Promise<GatewayError>((resolve) => (reportAllFailed = resolve));
  const streams = config.accounts.map(
    (account) =>
      new StreamClient({
        account,
        http,
        logger,
        metrics,
        onCallback: bridge.handleCallback,
        onFatal: (error) => {
          failedAccounts.add(account.id);
          if (failedAccounts.size === config.accounts.length) reportAllFailed(error);
        },
      }),
  );

  let isAccepting = true;
  const readiness = (): AccountReadiness[] =>
    config.accounts.map((account, index) => {
      const state = streams[index]?.state.status ?? 'stopped';
      return {
        account: account.id,
        state: failedAccounts.has(account.id) ? 'failed' : state,
        ready: state === 'open',
      };
    });
  const sendAbort = new AbortController();
  const { sendApiToken } = config.server;
  const sendApi =
    sendApiToken === undefined
      ? undefined
      : {
          token: sendApiToken,
          rateLimit: {
            requests: config.server.sendApiRateLimitRequests,
            windowMs: config.server.sendApiRateLimitWindowMs,
          },
          messenger: new OutboundMessenger({
            accounts: new Map(config.accounts.map((account) => [account.id, account])),
            proactive,
            outbox,
            services: media.reply,
            media: config.media,
            maxMessagesPerRequest: config.delivery.rateLimitMessages,
            retry: { attempts: config.delivery.sendAttempts, backoff: SEND_RETRY_BACKOFF },
            metrics,
            logger,
          }),
          metrics,
          isAccepting: () => isAccepting,
          signal: sendAbort.signal,
          now,
        };
  const server = buildHttpServer({ logger, metrics, readiness, isAccepting: () => isAccepting, sendApi });
  const log = logger.child({ component: 'app' });
  let housekeeping: NodeJS.Timeout | undefined;

  let stopping: Promise<void> | undefined;
  return {
    metrics,
    allAccountsFailed,
    async start() {
      await dispatcher.start();
      housekeeping = setInterval(() => {
        outbox.prune();
        void store.sweep(now()).catch((error: unknown) => log.warn({ err: error }, 'dedupe sweep failed'));
      }, HOUSEKEEPING_INTERVAL_MS);
      const address = await server.listen({ host: config.server.host, port: config.server.port });
      for (const stream of streams) stream.start();
      log.info(
        {
          address,
          accounts: config.accounts.map((account) => account.id),
          openclaw: maskUrl(config.openclaw.baseUrl),
          sendApi: sendApi !== undefined,
        },
        'gateway started',
      );
      return address;
    },
    stop() {
      stopping ??= (async () => {
        log.info('shutting down');
        isAccepting = false;
        bridge.stopAccepting();
        clearInterval(housekeeping);
        await runShutdown(
          [
            {
              name: 'streams',
              timeoutMs: STREAM_STOP_TIMEOUT_MS,
              run: () => Promise.all(streams.map((s) => s.stop())),
            },
            {
              name: 'turns',
              timeoutMs: config.server.shutdownGraceMs + CLOSE_TIMEOUT_MS,
              run: async () => {
                const aborted = await dispatcher.drain(config.server.shutdownGraceMs);
                if (aborted > 0)
                  log.warn({ aborted }, 'unfinished messages stay in the inbox for the next start');
              },
            },
            {
              name: 'outbox',
              timeoutMs: CLOSE_TIMEOUT_MS,
              run: () => {
                sendAbort.abort(new Error('gateway shutting down'));
                outbox.stop();
                return Promise.resolve();
              },
            },
            { name: 'http-server', timeoutMs: CLOSE_TIMEOUT_MS, run: () => server.close() },
            { name: 'openclaw-client', timeoutMs: CLOSE_TIMEOUT_MS, run: () => agent.close() },
            { name: 'dingtalk-http', timeoutMs: CLOSE_TIMEOUT_MS, run: () => http.close() },
            { name: 'remote-fetch', timeoutMs: CLOSE_TIMEOUT_MS, run: () => remote.close() },
            { name: 'state', timeoutMs: CLOSE_TIMEOUT_MS, run: () => store.close() },
          ],
          log,
        );
        log.info('shutdown complete');
      })();
      return stopping;
    },
  };
}
