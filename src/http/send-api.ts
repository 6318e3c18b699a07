import { createHash, timingSafeEqual } from 'node:crypto';
import { isAbsolute } from 'node:path';

import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { z } from 'zod';

import type { OutboundRequest, OutboundResult, RequestIssue } from '../delivery/send-message.js';
import { SendWindow } from '../delivery/send-window.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';

/** Path of the send API. */
export const SEND_API_PATH = '/v1/messages';

/** Longest `text` / `markdown` accepted (chunking then splits it at the account's `maxChars`). */
export const MAX_SEND_TEXT_CHARS = 60_000;
/** Most attachments per request. */
export const MAX_SEND_MEDIA = 10;
// Text plus a little JSON around it (UTF-8: up to 3 bytes per character).
const BODY_LIMIT_BYTES = 4 * MAX_SEND_TEXT_CHARS;

export interface SendApiOptions {
  /** The bearer token callers must present. */
  readonly token: string;
  /** Requests accepted per window for the token; more are answered 429. */
  readonly rateLimit: { readonly requests: number; readonly windowMs: number };
  readonly messenger: {
    send(request: OutboundRequest, signal: AbortSignal): Promise<OutboundResult>;
  };
  readonly metrics: GatewayMetrics;
  /** False once shutdown began: requests are answered 503. */
  readonly isAccepting: () => boolean;
  /** Aborted at shutdown: sends still running give up. */
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

const nonBlank = (field: string) =>
  z
    .string()
    .max(MAX_SEND_TEXT_CHARS)
    .refine((value) => value.trim() !== '', `${field} must not be blank`);

const SendBody = z
  .strictObject({
    account: z.string().min(1).max(64).default('default'),
    staffId: z.string().min(1).max(128).optional(),
    openConversationId: z.string().min(1).max(256).optional(),
    text: nonBlank('text').optional(),
    markdown: nonBlank('markdown').optional(),
    title: z.string().min(1).max(128).optional(),
    media: z
      .array(
        z.strictObject({
          path: z.string().min(1).max(4_096).refine(isAbsolute, 'must be an absolute path'),
          name: z
            .string()
            .min(1)
            .max(255)
            .refine((name) => !/[/\\\p{Cc}]/u.test(name), 'must be a file name (no slashes)')
            .optional(),
        }),
      )
      .max(MAX_SEND_MEDIA)
      .default([]),
  })
  .superRefine((body, ctx) => {
    if ((body.staffId === undefined) === (body.openConversationId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['staffId'],
        message: 'give exactly one of staffId (a user) and openConversationId (a group)',
      });
    }
    if (body.text !== undefined && body.markdown !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['markdown'], message: 'give text or markdown, not both' });
    }
    if (body.text === undefined && body.markdown === undefined && body.media.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'give text, markdown or media' });
    }
    if (body.title !== undefined && body.markdown === undefined) {
      ctx.addIssue({ code: 'custom', path: ['title'], message: 'title goes with markdown only' });
    }
  });

type SendBody = z.infer<typeof SendBody>;

function issuesOf(error: z.ZodError): RequestIssue[] {
  return error.issues.flatMap((issue): RequestIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: path === '' ? key : `${path}.${key}`,
        message: 'unknown key',
      }));
    }
    return [{ path: path === '' ? '(root)' : path, message: issue.message }];
  });
}

function toRequest(body: SendBody): OutboundRequest {
  const format = body.markdown === undefined ? 'text' : 'markdown';
  const text = body.markdown ?? body.text;
  return {
    accountId: body.account,
    target:
      body.staffId === undefined
        ? { kind: 'group', openConversationId: body.openConversationId ?? '' }
        : { kind: 'dm', userId: body.staffId },
    content: text === undefined ? undefined : { format, text, title: body.title },
    media: body.media.map((item) => ({ path: item.path, name: item.name })),
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function retryAfterSeconds(delayMs: number): number {
  return Math.max(1, Math.ceil(delayMs / 1000));
}

/**
 * `POST /v1/messages`: lets scripts and cron jobs push a message to a DingTalk user or group through
 * an account's proactive API. Bearer token (compared in constant time), a request limit per token,
 * zod validation with key paths; the sending itself is the messenger's.
 */
export function registerSendApi(app: FastifyInstance, options: SendApiOptions, logger: Logger): void {
  const log = logger.child({ component: 'send-api' });
  const expected = digest(options.token);
  const now = options.now ?? Date.now;
  const window = new SendWindow(options.rateLimit.requests, options.rateLimit.windowMs);

  const isAuthorized = (header: string | undefined): boolean => {
    const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];
    // Both sides are SHA-256 digests: equal length, so the comparison time says nothing about the token.
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };

  // Answering without calling `done` ends the request here (before the body is even read).
  const onRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (!options.isAccepting()) {
      void reply.code(503).send({ error: 'shutting down' });
      return;
    }
    if (!isAuthorized(request.headers.authorization)) {
      log.warn(
        { reason: request.headers.authorization === undefined ? 'missing' : 'wrong' },
        'send API request without a valid token',
      );
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="openclaw-dingtalk-gateway"')
        .send({ error: 'unauthorized' });
      return;
    }
    const delayMs = window.delayMs(now());
    if (delayMs > 0) {
      const seconds = retryAfterSeconds(delayMs);
      void reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ error: 'too many requests', retryAfterSeconds: seconds });
      return;
    }
    window.record(now());
    done();
  };

  // Body parsing errors (not JSON, too large, wrong content type) get the same `{error}` shape.
  const errorHandler = (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    const status = error.statusCode ?? 500;
    if (status >= 500) log.error({ err: error }, 'send API request failed');
    void reply.code(status).send({ error: status < 500 ? error.message : 'internal error' });
  };

  app.post(
    SEND_API_PATH,
    {
      bodyLimit: BODY_LIMIT_BYTES,
      onRequest,
      errorHandler,
      onResponse: (_request, reply, done) => {
        options.metrics.sendApiRequests.inc({ status: String(reply.statusCode) });
        done();
      },
    },
    async (request, reply) => {
      const parsed = SendBody.safeParse(request.body);
      if (!parsed.success) {
        return reply.code(400).send({ error: 'invalid request', issues: issuesOf(parsed.error) });
      }
      const result = await options.messenger.send(toRequest(parsed.data), options.signal);
      switch (result.status) {
        case 'sent':
          return reply.send({ sent: result.sent, processQueryKeys: result.processQueryKeys });
        case 'invalid':
          return reply.code(400).send({ error: 'invalid request', issues: result.issues });
        case 'rate-limited':
          return reply
            .code(429)
            .header('retry-after', String(retryAfterSeconds(result.retryAfterMs)))
            .send({
              error: 'conversation rate limit reached',
              retryAfterSeconds: retryAfterSeconds(result.retryAfterMs),
            });
        case 'failed':
          return reply.code(502).send({
            error: 'DingTalk did not take the message',
            endpoint: result.endpoint,
            status: result.dingtalkStatus,
            code: result.apiCode,
            message: result.message,
            sent: result.sent,
            processQueryKeys: result.processQueryKeys,
          });
      }
    },
  );
}
