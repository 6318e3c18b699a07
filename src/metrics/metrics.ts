import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Where the depth gauges read their values at scrape time (wired by the composition root). */
export interface DepthSources {
  /** Unfinished inbox entries (a store query). */
  readonly inbox: () => Promise<number>;
  /** Inbox entries waiting (in every replica's view of the shared store), and turns running here. */
  readonly queue: () => Promise<{ readonly queued: number; readonly running: number }>;
  /** Reply messages waiting for a per-conversation rate-limit slot. */
  readonly outbox: () => number;
}

/**
 * Every metric the gateway exports, on a registry of its own (never prom-client's global one, so
 * two gateways in one process, as in tests, do not collide). Label values are small fixed sets;
 * never a user id, message id or URL.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Stream frames by kind: callback, event, ping, disconnect, invalid. */
  readonly framesReceived: Counter<'account' | 'kind'>;
  /** Every ACK written to the socket (callbacks, pings, events). */
  readonly framesAcked: Counter<'account'>;
  /** CALLBACK frames handed to the bridge (every topic). */
  readonly messagesReceived: Counter<'account'>;
  /** CALLBACK frames whose ACK was written to the socket. */
  readonly messagesAcked: Counter<'account'>;
  /** From a CALLBACK frame's arrival to its ACK written (the inbox write and its fsync included). */
  readonly messageAckSeconds: Histogram;
  /** Bot messages by outcome: accepted, command, rejected, deduped, invalid, ignored, record-failed. */
  readonly messages: Counter<'account' | 'outcome'>;
  /** Rejected bot messages by reason (allowlist, mention, ...). */
  readonly messagesRejected: Counter<'account' | 'reason'>;
  readonly reconnects: Counter<'account' | 'reason'>;
  /** 1 for the account's current connection state, 0 for the others. */
  readonly connectionState: Gauge<'account' | 'state'>;
  /** Agent answers by outcome: ok, error; and `undeliverable` replies. */
  readonly turns: Counter<'outcome'>;
  /** Whole turn (agent, media, every reply message) by how it ended: answered, notice, undeliverable, aborted, failed. */
  readonly turnDurationSeconds: Histogram<'outcome'>;
  /** From the request to the agent (retries included) to its first text delta. */
  readonly timeToFirstTokenSeconds: Histogram;
  /** Reply messages by route (webhook, proactive) and outcome (ok, retry, error, rejected, no-target). */
  readonly repliesSent: Counter<'route' | 'outcome'>;
  /** DingTalk HTTP calls by endpoint name and HTTP status (or `transport`). */
  readonly dingtalkApiCalls: Counter<'endpoint' | 'status'>;
  /** Files uploaded with `media/upload`, by upload type (image, voice, video, file) and outcome (ok, error). */
  readonly mediaUploads: Counter<'type' | 'outcome'>;
  readonly mediaUploadBytes: Counter<'type'>;
  /** Files downloaded from user messages, by kind (image, audio, video, file, unknown) and outcome. */
  readonly mediaDownloads: Counter<'kind' | 'outcome'>;
  readonly mediaDownloadBytes: Counter<'kind'>;
  /** `POST /v1/messages` requests by HTTP status of the answer. */
  readonly sendApiRequests: Counter<'status'>;
  /** Messages the send API handed to DingTalk, by target (dm, group) and outcome (ok, error). */
  readonly sendApiMessages: Counter<'target' | 'outcome'>;
  /** Makes the depth gauges read from `sources` on every scrape. */
  observeDepths(sources: DepthSources): void;
}

/** Turn durations: a tenth of a second to the 10-minute turn limit. */
const TURN_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** First-token latency: models answer in tens of milliseconds to a minute. */
const FIRST_TOKEN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
/** ACK delay: a millisecond on a quiet disk; DingTalk redelivers what stays unacked for seconds. */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(options: { readonly collectProcessMetrics: boolean }): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let depths: DepthSources | undefined;

  const counter = <T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> =>
    new Counter({ name, help, labelNames, registers });

  new Gauge({
    name: 'gateway_inbox_depth',
    help: 'Accepted messages not finished yet (waiting, being answered, or being delivered).',
    registers,
    async collect() {
      if (depths === undefined) return;
      try {
        this.set(await depths.inbox());
      } catch {
        // The store is closing (shutdown): keep the last value instead of failing the scrape.
      }
    },
  });
  new Gauge({
    name: 'gateway_queue_depth',
    help: 'Inbox entries in the dispatcher, by state: queued (behind another of their session) or running.',
    labelNames: ['state'],
    registers,
    async collect() {
      if (depths === undefined) return;
      try {
        const { queued, running } = await depths.queue();
        this.set({ state: 'queued' }, queued);
        this.set({ state: 'running' }, running);
      } catch {
        // A store hiccup must not fail the whole scrape.
      }
    },
  });
  new Gauge({
    name: 'gateway_outbox_waiting_messages',
    help: 'Reply messages waiting for a per-conversation rate-limit slot.',
    registers,
    collect() {
      if (depths !== undefined) this.set(depths.outbox());
    },
  });

  return {
    registry,
    framesReceived: counter('dingtalk_stream_frames_received_total', 'Stream frames received, by kind.', [
      'account',
      'kind',
    ]),
    framesAcked: counter(
      'dingtalk_stream_frames_acked_total',
      'Stream frames acknowledged (callbacks, pings, events).',
      ['account'],
    ),
    messagesReceived: counter(
      'gateway_messages_received_total',
      'CALLBACK frames (bot messages) handed to the bridge.',
      ['account'],
    ),
    messagesAcked: counter(
      'gateway_messages_acked_total',
      'CALLBACK frames acknowledged to DingTalk (after the message was recorded or deliberately dropped).',
      ['account'],
    ),
    messageAckSeconds: new Histogram({
      name: 'gateway_message_ack_seconds',
      help: 'Time from a CALLBACK frame arriving to its ACK written (the inbox write and its fsync included).',
      buckets: ACK_BUCKETS,
      registers,
    }),
    messages: counter(
      'gateway_messages_total',
      'Bot messages by outcome (accepted, command, rejected, deduped, invalid, ignored, record-failed).',
      ['account', 'outcome'],
    ),
    messagesRejected: counter(
      'gateway_messages_rejected_total',
      'Bot messages rejected (access control, sender rate limit), by reason.',
      ['account', 'reason'],
    ),
    reconnects: counter('dingtalk_stream_reconnects_total', 'Stream reconnects, by reason.', [
      'account',
      'reason',
    ]),
    connectionState: new Gauge({
      name: 'dingtalk_stream_connection_state',
      help: '1 for the current state of each account connection.',
      labelNames: ['account', 'state'],
      registers,
    }),
    turns: counter(
      'gateway_turns_total',
      'Agent answers by outcome (ok, error), and undeliverable replies.',
      ['outcome'],
    ),
    turnDurationSeconds: new Histogram({
      name: 'gateway_turn_duration_seconds',
      help: 'Time from the start of a turn to its last reply message, by how the turn ended.',
      labelNames: ['outcome'],
      buckets: TURN_BUCKETS,
      registers,
    }),
    timeToFirstTokenSeconds: new Histogram({
      name: 'gateway_time_to_first_token_seconds',
      help: 'Time from the request to the agent (retries included) to its first text.',
      buckets: FIRST_TOKEN_BUCKETS,
      registers,
    }),
    repliesSent: counter(
      'gateway_replies_sent_total',
      'Reply messages sent to DingTalk, by route and outcome.',
      ['route', 'outcome'],
    ),
    dingtalkApiCalls: counter(
      'dingtalk_api_calls_total',
      'DingTalk HTTP calls (tokens, sends, webhooks, uploads, downloads) by endpoint and status.',
      ['endpoint', 'status'],
    ),
    mediaUploads: counter('gateway_media_uploads_total', 'Files uploaded to DingTalk, by type and outcome.', [
      'type',
      'outcome',
    ]),
    mediaUploadBytes: counter('gateway_media_upload_bytes_total', 'Bytes of files uploaded to DingTalk.', [
      'type',
    ]),
    mediaDownloads: counter(
      'gateway_media_downloads_total',
      'Files downloaded from user messages, by kind and outcome.',
      ['kind', 'outcome'],
    ),
    mediaDownloadBytes: counter(
      'gateway_media_download_bytes_total',
      'Bytes of files downloaded from user messages.',
      ['kind'],
    ),
    sendApiRequests: counter(
      'gateway_send_api_requests_total',
      'POST /v1/messages requests by HTTP status.',
      ['status'],
    ),
    sendApiMessages: counter(
      'gateway_send_api_messages_total',
      'Messages the send API handed to DingTalk, by target and outcome.',
      ['target', 'outcome'],
    ),
    observeDepths(sources) {
      depths = sources;
    },
  };
}
