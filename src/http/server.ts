import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';

import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { type SendApiOptions, registerSendApi } from './send-api.js';

/** Per-account readiness as reported by `/readyz`. */
export interface AccountReadiness {
  readonly account: string;
  readonly state: string;
  readonly ready: boolean;
}

export interface HttpServerDependencies {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Current readiness of every enabled account. */
  readonly readiness: () => readonly AccountReadiness[];
  /** False once shutdown began. */
  readonly isAccepting: () => boolean;
  /** `POST /v1/messages`; without it (no token configured) the path answers 404. */
  readonly sendApi?: SendApiOptions | undefined;
}

/**
 * The HTTP surface: `/healthz` (process alive), `/readyz` (every account's stream open), `/metrics`
 * (Prometheus), and the send API when configured. Returned un-started: the caller listens.
 */
export function buildHttpServer(deps: HttpServerDependencies): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', (_request, reply) => {
    const accounts = deps.readiness();
    const ready = deps.isAccepting() && accounts.every((account) => account.ready);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', accounts });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  if (deps.sendApi !== undefined) registerSendApi(app, deps.sendApi, deps.logger);

  return app;
}
