import { mkdirSync } from 'node:fs';

import { Bridge } from './bridge/bridge.js';
import { MemoryDedupeStore } from './bridge/dedupe.js';
import type { GatewayConfig } from './config/types.js';
import { DEFAULT_DINGTALK_HTTP_OPTIONS, DingTalkHttp } from './dingtalk/api/http-client.js';
import { StreamClient } from './dingtalk/stream/stream-client.js';
import type { GatewayError } from './errors.js';
import { type AccountReadiness, buildHttpServer } from './http/server.js';
import { runShutdown } from './lifecycle/shutdown.js';
import type { Logger } from './log/logger.js';
import { type GatewayMetrics, createMetrics } from './metrics/metrics.js';
import { OpenClawChatClient } from './openclaw/chat-client.js';

// Bounds for the shutdown steps that have no configured grace of their own.
const STREAM_STOP_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;

export interface App {
  /** Listens on the HTTP port and opens every account's stream. Resolves with the bound address. */
  start(): Promise<string>;
  /** Ordered, bounded, idempotent shutdown (STYLE.md D2). */
  stop(): Promise<void>;
  /** Resolves when every account failed fatally (credentials refused): the process should exit. */
  readonly allAccountsFailed: Promise<GatewayError>;
  readonly metrics: GatewayMetrics;
}

/** The composition root: the only place that creates components and wires them together. */
export function createApp(config: GatewayConfig, logger: Logger): App {
  const metrics = createMetrics({ collectProcessMetrics: true });
  const http = new DingTalkHttp({
    ...DEFAULT_DINGTALK_HTTP_OPTIONS,
    onCall: (endpoint, status) => metrics.dingtalkApiCalls.inc({ endpoint, status }),
  });
  const agent = new OpenClawChatClient({
    baseUrl: config.openclaw.baseUrl,
    token: config.openclaw.token,
    timeoutMs: config.openclaw.timeoutMs,
    connectTimeoutMs: config.openclaw.connectTimeoutMs,
    logger: logger.child({ component: 'openclaw.client' }),
  });
  const bridge = new Bridge({
    accounts: config.accounts,
    agent,
    agentId: config.openclaw.agentId,
    http,
    dedupe: new MemoryDedupeStore(config.state.dedupeTtlMs),
    logger,
    metrics,
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
  const server = buildHttpServer({ logger, metrics, readiness, isAccepting: () => isAccepting });
  const log = logger.child({ component: 'app' });

  let stopping: Promise<void> | undefined;
  return {
    metrics,
    allAccountsFailed,
    async start() {
      mkdirSync(config.state.dir, { recursive: true });
      const address = await server.listen({ host: config.server.host, port: config.server.port });
      for (const stream of streams) stream.start();
      log.info(
        {
          address,
          accounts: config.accounts.map((account) => account.id),
          openclaw: config.openclaw.baseUrl,
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
                const aborted = await bridge.drain(config.server.shutdownGraceMs);
                if (aborted > 0) log.warn({ aborted }, 'turns still running at shutdown were aborted');
              },
            },
            { name: 'http-server', timeoutMs: CLOSE_TIMEOUT_MS, run: () => server.close() },
            { name: 'openclaw-client', timeoutMs: CLOSE_TIMEOUT_MS, run: () => agent.close() },
            { name: 'dingtalk-http', timeoutMs: CLOSE_TIMEOUT_MS, run: () => http.close() },
          ],
          log,
        );
        log.info('shutdown complete');
      })();
      return stopping;
    },
  };
}
