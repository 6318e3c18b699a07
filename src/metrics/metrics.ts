import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the gateway exports, on a registry of its own (never prom-client's global one, so
 * two gateways in one process, as in tests, do not collide). Label values are small fixed sets;
 * never a user id, message id or URL.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Stream frames by kind: callback, event, ping, disconnect, invalid. */
  readonly framesReceived: Counter<'account' | 'kind'>;
  readonly framesAcked: Counter<'account'>;
  /** Bot messages by outcome: accepted, rejected, deduped, invalid. */
  readonly messages: Counter<'account' | 'outcome'>;
  /** Rejected bot messages by reason (allowlist, mention, ...). */
  readonly messagesRejected: Counter<'account' | 'reason'>;
  readonly reconnects: Counter<'account' | 'reason'>;
  /** 1 for the account's current connection state, 0 for the others. */
  readonly connectionState: Gauge<'account' | 'state'>;
  /** Agent turns by outcome: ok, error, aborted. */
  readonly turns: Counter<'outcome'>;
  readonly turnDurationSeconds: Histogram;
  /** Reply messages by route (webhook) and outcome (ok, error, refused). */
  readonly repliesSent: Counter<'route' | 'outcome'>;
  /** DingTalk HTTP calls by endpoint name and HTTP status (or `transport`). */
  readonly dingtalkApiCalls: Counter<'endpoint' | 'status'>;
}

export function createMetrics(options: { readonly collectProcessMetrics: boolean }): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    framesReceived: new Counter({
      name: 'dingtalk_stream_frames_received_total',
      help: 'Stream frames received, by kind.',
      labelNames: ['account', 'kind'],
      registers,
    }),
    framesAcked: new Counter({
      name: 'dingtalk_stream_frames_acked_total',
      help: 'Stream frames acknowledged.',
      labelNames: ['account'],
      registers,
    }),
    messages: new Counter({
      name: 'gateway_messages_total',
      help: 'Bot messages by outcome (accepted, rejected, deduped, invalid).',
      labelNames: ['account', 'outcome'],
      registers,
    }),
    messagesRejected: new Counter({
      name: 'gateway_messages_rejected_total',
      help: 'Bot messages rejected by access control, by reason.',
      labelNames: ['account', 'reason'],
      registers,
    }),
    reconnects: new Counter({
      name: 'dingtalk_stream_reconnects_total',
      help: 'Stream reconnects, by reason.',
      labelNames: ['account', 'reason'],
      registers,
    }),
    connectionState: new Gauge({
      name: 'dingtalk_stream_connection_state',
      help: '1 for the current state of each account connection.',
      labelNames: ['account', 'state'],
      registers,
    }),
    turns: new Counter({
      name: 'gateway_turns_total',
      help: 'Agent turns by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    turnDurationSeconds: new Histogram({
      name: 'gateway_turn_duration_seconds',
      help: 'Time from the start of an agent turn to its last reply message.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    repliesSent: new Counter({
      name: 'gateway_replies_sent_total',
      help: 'Reply messages sent to DingTalk, by route and outcome.',
      labelNames: ['route', 'outcome'],
      registers,
    }),
    dingtalkApiCalls: new Counter({
      name: 'dingtalk_api_calls_total',
      help: 'DingTalk HTTP calls by endpoint and status.',
      labelNames: ['endpoint', 'status'],
      registers,
    }),
  };
}
