import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fileMessage, picture } from '../fakes/bot-message-factory.js';
import { FakeDingTalk } from '../fakes/fake-dingtalk.js';
import { FAKE_OPENCLAW_WS_TOKEN, FakeOpenClawWs } from '../fakes/fake-openclaw-ws.js';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { pdfDocument, pngImage } from '../helpers/media-fixtures.js';
import { testConfig } from '../helpers/test-config.js';

let dingtalk: FakeDingTalk;
let openclaw: FakeOpenClawWs;
let gateway: GatewayProcess | undefined;

beforeEach(async () => {
  dingtalk = await FakeDingTalk.start();
  openclaw = await FakeOpenClawWs.start();
});

afterEach(async () => {
  await gateway?.kill();
  gateway = undefined;
  await dingtalk.close();
  await openclaw.close();
});

async function startGateway(channel: Record<string, unknown> = {}): Promise<GatewayProcess> {
  gateway = await GatewayProcess.start({
    config: testConfig(dingtalk, openclaw.baseUrl, {
      openclaw: { transport: 'ws', token: FAKE_OPENCLAW_WS_TOKEN },
      channels: { dingtalk: channel },
    }),
  });
  await dingtalk.waitForConnections(1);
  return gateway;
}

function texts(): string[] {
  return dingtalk.webhookPosts.map((post) => (post.body as { markdown: { text: string } }).markdown.text);
}

describe('the OpenClaw WebSocket transport, end to end', () => {
  it('answers through chat.send with our session key and the msgId as idempotency key', async () => {
    await startGateway();
    openclaw.onSend(() => ({ chunks: ['hello ', 'over ws'] }));
    const message = dingtalk.dmText('hi ws', { senderStaffId: 'ws-user' });
    dingtalk.pushBotMessage(message);
    await dingtalk.waitForWebhookPosts(1);
    expect(texts()).toEqual(['hello over ws']);
    const [send] = openclaw.requestsOf('chat.send');
    expect(send!.params['sessionKey']).toBe('agent:main:dingtalk:default:dm:ws-user');
    expect(send!.params['idempotencyKey']).toBe(`${dingtalk.options.clientId}:${message.msgId}`);
  });

  it('shows tool status and results when switched on, and sends the run artifacts', async () => {
    await startGateway({ showToolStatus: true, showToolResult: true, thinking: 'low' });
    openclaw.onSend(() => ({
      tools: [{ name: 'read', title: 'Read notes.txt', result: 'line one\nline two' }],
      chunks: ['Done reading.'],
      media: [{ fileName: 'chart.png', mimeType: 'image/png', bytes: pngImage() }],
    }));
    dingtalk.pushBotMessage(dingtalk.dmText('read it', { senderStaffId: 'tool-user' }));
    await dingtalk.waitForWebhookPosts(1);
    const [text] = texts();
    expect(text).toContain('🔧 Read notes.txt');
    expect(text).toContain('> line one\n> line two');
    expect(text).toContain('Done reading.');
    const [upload] = dingtalk.uploads;
    expect(upload).toMatchObject({ fileName: 'chart.png', type: 'image' });
    expect(text).toContain(`![chart.png](${upload!.mediaId})`);
    expect(openclaw.requestsOf('chat.send')[0]!.params['thinking']).toBe('low');
  });

  it('hands inbound pictures and files to the agent as chat.send attachments', async () => {
    await startGateway();
    openclaw.onSend(() => ({ chunks: ['got it'] }));
    dingtalk.registerDownload('csv-1', 'name,qty\napple,3\n', 'application/octet-stream');
    dingtalk.registerDownload('pdf-1', pdfDocument(), 'application/pdf');
    dingtalk.registerDownload('png-1', pngImage(), 'image/png');
    dingtalk.pushBotMessage(
      fileMessage('csv-1', 'stock.csv', { senderStaffId: 'att-1' }, dingtalk.botMessageContext),
    );
    dingtalk.pushBotMessage(
      fileMessage('pdf-1', 'report.pdf', { senderStaffId: 'att-2' }, dingtalk.botMessageContext),
    );
    dingtalk.pushBotMessage(picture('png-1', { senderStaffId: 'att-3' }, dingtalk.botMessageContext));
    await dingtalk.waitForWebhookPosts(3);
    const sends = new Map(
      openclaw
        .requestsOf('chat.send')
        .map((send) => [String(send.params['sessionKey']).split(':').at(-1), send]),
    );
    expect(sends.get('att-1')!.params['message']).toBe('[file "stock.csv", 17 B: attached]');
    expect(sends.get('att-1')!.params['attachments']).toEqual([
      {
        type: 'file',
        mimeType: 'text/csv',
        fileName: 'stock.csv',
        content: Buffer.from('name,qty\napple,3\n').toString('base64'),
      },
    ]);
    expect(sends.get('att-2')!.params['attachments']).toEqual([
      {
        type: 'file',
        mimeType: 'application/pdf',
        fileName: 'report.pdf',
        content: pdfDocument().toString('base64'),
      },
    ]);
    expect(sends.get('att-3')!.params['attachments']).toEqual([
      {
        type: 'image',
        mimeType: 'image/png',
        fileName: 'image-1.png',
        content: pngImage().toString('base64'),
      },
    ]);
  });

  it('/new resets the OpenClaw session with sessions.reset instead of rotating the key', async () => {
    await startGateway();
    dingtalk.pushBotMessage(dingtalk.dmText('/new', { senderStaffId: 'reset-user' }));
    await dingtalk.waitForWebhookPosts(1);
    const [reset] = openclaw.requestsOf('sessions.reset');
    expect(reset!.params).toMatchObject({ key: 'agent:main:dingtalk:default:dm:reset-user' });
    dingtalk.pushBotMessage(dingtalk.dmText('fresh', { senderStaffId: 'reset-user' }));
    await dingtalk.waitForWebhookPosts(2);
    expect(openclaw.requestsOf('chat.send')[0]!.params['sessionKey']).toBe(
      'agent:main:dingtalk:default:dm:reset-user',
    );
  });

  it('/stop aborts the run with chat.abort', async () => {
    await startGateway();
    openclaw.onSend(() => ({ chunks: ['partial'], hang: true }));
    dingtalk.pushBotMessage(dingtalk.dmText('go on forever', { senderStaffId: 'stop-user' }));
    await expect.poll(() => openclaw.requestsOf('chat.send').length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    dingtalk.pushBotMessage(dingtalk.dmText('/stop', { senderStaffId: 'stop-user' }));
    await dingtalk.waitForWebhookPosts(1);
    expect(texts()[0]).toMatch(/partial[\s\S]*⏹️/);
    expect(openclaw.requestsOf('chat.abort')).toHaveLength(1);
  });
});
