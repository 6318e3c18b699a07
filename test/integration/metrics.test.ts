import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fileMessage, picture } from '../fakes/bot-message-factory.js';
import { FAKE_OPENCLAW_TOKEN } from '../fakes/fake-openclaw.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { pdfDocument, pngImage } from '../helpers/media-fixtures.js';

const BATCH_SEND = '/v1.0/robot/oToMessages/batchSend';

const harness = useGatewayHarness({
  tempDirs: { root: 'gateway-metrics-' },
  config: ({ root }) => ({ channels: { dingtalk: { mediaRoots: [root] } } }),
});

async function scrape(gw: GatewayProcess): Promise<string> {
  const response = await fetch(`${gw.baseUrl}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe('GET /metrics', () => {
  it('counts a DM with a picture and a file whose webhook expired, and shows no secret', async () => {
    const { dingtalk, openclaw } = harness;
    const { root } = harness.dirs;
    const gw = await harness.start();
    const image = pngImage(6, 6, 0x33);
    const notes = Buffer.from('line one\nline two\n');
    const report = pdfDocument();
    writeFileSync(join(root, 'report.pdf'), report);
    dingtalk.registerDownload('pic-m', image, 'image/png');
    dingtalk.registerDownload('file-m', notes, 'text/plain');
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: ['Nice picture. ', `[DING:FILE path="${join(root, 'report.pdf')}"]`],
    });

    const context = { ...dingtalk.botMessageContext };
    const first = picture('pic-m', { senderStaffId: 'staff-metrics' }, context);
    // The picture's session webhook is known to DingTalk but already expired (errcode 300001).
    dingtalk.registerSession(new URL(first.sessionWebhook).searchParams.get('session')!, 0);
    dingtalk.pushBotMessage(first);
    // The reply (text, then the file) goes through the proactive API.
    await dingtalk.waitForApiRequests(BATCH_SEND, 2);
    // A redelivery of the same message (new frame id, same msgId) is deduplicated; the next
    // message brings a fresh webhook, used for its reply.
    dingtalk.pushBotMessage(first);
    dingtalk.pushBotMessage(fileMessage('file-m', 'notes.txt', { senderStaffId: 'staff-metrics' }, context));
    await dingtalk.waitForWebhookPosts(2);
    await expect
      .poll(() => gw.metric('gateway_turn_duration_seconds_count', { outcome: 'answered' }))
      .toBe(2);

    const expectations: [string, Record<string, string>, number][] = [
      ['gateway_messages_received_total', {}, 3],
      ['gateway_messages_acked_total', {}, 3],
      ['gateway_message_ack_seconds_count', {}, 3],
      ['gateway_messages_total', { outcome: 'accepted' }, 2],
      ['gateway_messages_total', { outcome: 'deduped' }, 1],
      ['gateway_turns_total', { outcome: 'ok' }, 2],
      ['gateway_time_to_first_token_seconds_count', {}, 2],
      ['gateway_replies_sent_total', { route: 'webhook', outcome: 'rejected' }, 1],
      ['gateway_replies_sent_total', { route: 'webhook', outcome: 'ok' }, 1],
      ['gateway_replies_sent_total', { route: 'proactive', outcome: 'ok' }, 2],
      ['gateway_media_downloads_total', { kind: 'image', outcome: 'ok' }, 1],
      ['gateway_media_downloads_total', { kind: 'file', outcome: 'ok' }, 1],
      ['gateway_media_download_bytes_total', { kind: 'image' }, image.length],
      ['gateway_media_download_bytes_total', { kind: 'file' }, notes.length],
      ['gateway_media_uploads_total', { type: 'file', outcome: 'ok' }, 1],
      ['gateway_media_upload_bytes_total', { type: 'file' }, report.length],
      ['dingtalk_api_calls_total', { endpoint: 'connections/open', status: '200' }, 1],
      ['dingtalk_api_calls_total', { endpoint: 'oauth2/accessToken', status: '200' }, 1],
      ['dingtalk_api_calls_total', { endpoint: 'robot/messageFiles/download', status: '200' }, 2],
      ['dingtalk_api_calls_total', { endpoint: 'messageFiles/file', status: '200' }, 2],
      ['dingtalk_api_calls_total', { endpoint: 'media/upload', status: '200' }, 1],
      ['dingtalk_api_calls_total', { endpoint: 'robot/oToMessages/batchSend', status: '200' }, 2],
      ['dingtalk_api_calls_total', { endpoint: 'session-webhook', status: '200' }, 2],
      ['dingtalk_stream_connection_state', { state: 'open' }, 1],
      ['dingtalk_stream_connection_state', { state: 'backoff' }, 0],
    ];
    const actual = await Promise.all(expectations.map(([name, labels]) => gw.metric(name, labels)));
    expect(actual).toEqual(expectations.map(([, , value]) => value));
    await expect.poll(() => gw.metric('gateway_inbox_depth')).toBe(0);
    expect(await gw.metric('gateway_queue_depth')).toBe(0);

    const text = await scrape(gw);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/^gateway_turn_duration_seconds_bucket\{le="0\.1",outcome="answered"\}/m);
    const secrets = [
      dingtalk.options.clientSecret,
      FAKE_OPENCLAW_TOKEN,
      ...dingtalk.issuedAccessTokens,
      ...dingtalk.openRequests.flatMap((request) => (request.ticket === undefined ? [] : [request.ticket])),
      new URL(first.sessionWebhook).searchParams.get('session')!,
      'session=',
      'ticket=',
      'access_token',
      'Signature',
      'staff-metrics',
      root,
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const secret of secrets.slice(0, 5)) expect(gw.rawStdout).not.toContain(secret);
  });

  it('shows the inbox and the queue of a busy conversation', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start();
    openclaw.enqueueReplies({ kind: 'hang' });
    dingtalk.pushBotMessage(dingtalk.dmText('first', { senderStaffId: 'busy' }));
    dingtalk.pushBotMessage(dingtalk.dmText('second', { senderStaffId: 'busy' }));
    dingtalk.pushBotMessage(dingtalk.dmText('other', { senderStaffId: 'someone-else' }));
    await openclaw.waitForRequests(1);
    await expect.poll(() => gw.metric('gateway_inbox_depth')).toBeGreaterThanOrEqual(2);
    await expect.poll(() => gw.metric('gateway_queue_depth', { state: 'queued' })).toBe(1);
    expect(await gw.metric('gateway_queue_depth', { state: 'running' })).toBeGreaterThanOrEqual(1);
  });
});
