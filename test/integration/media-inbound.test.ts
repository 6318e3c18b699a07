import { describe, expect, it } from 'vitest';

import {
  audioMessage,
  fileMessage,
  picture,
  quotedText,
  repliedMessage,
  richText,
} from '../fakes/bot-message-factory.js';
import type { RecordedChatRequest } from '../fakes/fake-openclaw.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';
import { pdfDocument, pngImage } from '../helpers/media-fixtures.js';

const harness = useGatewayHarness();

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** The content of the user message OpenClaw received, as parts. */
function userParts(request: RecordedChatRequest): Part[] {
  const { messages } = request.body as { messages: { role: string; content: string | Part[] }[] };
  const content = messages.findLast((message) => message.role === 'user')!.content;
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function dataUri(bytes: Buffer): string {
  return `data:image/png;base64,${bytes.toString('base64')}`;
}

describe('media from the user', () => {
  it('hands a picture to the agent as an image part', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    const image = pngImage(4, 4, 0x10);
    dingtalk.registerDownload('pic-1', image, 'image/png');
    dingtalk.pushBotMessage(picture('pic-1', {}, dingtalk.botMessageContext));
    const [request] = await openclaw.waitForRequests(1);
    expect(userParts(request!)).toEqual([{ type: 'image_url', image_url: { url: dataUri(image) } }]);
    await dingtalk.waitForWebhookPosts(1);
  });

  it('keeps the order of text and pictures in a richText message', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    const first = pngImage(4, 4, 0x20);
    const second = pngImage(6, 6, 0x40);
    dingtalk.registerDownload('rt-a', first, 'image/png');
    dingtalk.registerDownload('rt-b', second, 'image/png');
    dingtalk.pushBotMessage(
      richText(
        [
          '看这两张图：',
          { type: 'picture', downloadCode: 'rt-a' },
          '和',
          { type: 'picture', downloadCode: 'rt-b' },
        ],
        {},
        dingtalk.botMessageContext,
      ),
    );
    const [request] = await openclaw.waitForRequests(1);
    expect(userParts(request!)).toEqual([
      { type: 'text', text: '看这两张图：' },
      { type: 'image_url', image_url: { url: dataUri(first) } },
      { type: 'text', text: '和' },
      { type: 'image_url', image_url: { url: dataUri(second) } },
    ]);
  });

  it('gives the agent the transcript of a voice message', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.pushBotMessage(audioMessage('钉钉，让进步发生', 'voice-1', {}, dingtalk.botMessageContext));
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.lastUserText).toBe('[voice message] 钉钉，让进步发生');
  });

  it('inlines a small text file and describes a binary one', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.registerDownload('txt-1', 'name,qty\napple,3\n', 'text/csv');
    dingtalk.registerDownload('pdf-1', pdfDocument(), 'application/pdf');
    dingtalk.pushBotMessage(
      fileMessage('txt-1', 'stock.csv', { senderStaffId: 'f1' }, dingtalk.botMessageContext),
    );
    dingtalk.pushBotMessage(
      fileMessage('pdf-1', 'report.pdf', { senderStaffId: 'f2' }, dingtalk.botMessageContext),
    );
    const requests = await openclaw.waitForRequests(2);
    const texts = requests.map((request) => request.lastUserText).sort();
    expect(texts[0]).toMatch(
      /^\[file "report\.pdf", \d+ B, application\/pdf: its content is not readable by the assistant\]$/,
    );
    expect(texts[1]).toBe('[file "stock.csv", 17 B]\n```\nname,qty\napple,3\n\n```');
  });

  it('passes the quoted message on as context, quoted pictures included', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    dingtalk.pushBotMessage(
      quotedText(
        'what about this?',
        repliedMessage('text', { text: 'the original' }),
        {},
        dingtalk.botMessageContext,
      ),
    );
    const image = pngImage(5, 5, 0x70);
    dingtalk.registerDownload('quoted-pic', image, 'image/png');
    dingtalk.pushBotMessage(
      quotedText(
        'and this?',
        repliedMessage('picture', { downloadCode: 'quoted-pic' }, { asJsonString: true }),
        { senderStaffId: 'q2' },
        dingtalk.botMessageContext,
      ),
    );
    const requests = await openclaw.waitForRequests(2);
    expect(requests[0]!.lastUserText).toBe('[Quoted message]\nthe original\n[Reply]\nwhat about this?');
    expect(userParts(requests[1]!)).toEqual([
      { type: 'text', text: '[Quoted message]' },
      { type: 'image_url', image_url: { url: dataUri(image) } },
      { type: 'text', text: '[Reply]\nand this?' },
    ]);
  });

  it('tells both the agent and the user when a picture is over the size limit', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ media: { maxInboundFileBytes: 1_000 } });
    dingtalk.registerDownload('huge', Buffer.concat([pngImage(), Buffer.alloc(2_000)]), 'image/png');
    dingtalk.pushBotMessage(
      richText(['check', { type: 'picture', downloadCode: 'huge' }], {}, dingtalk.botMessageContext),
    );
    const [request] = await openclaw.waitForRequests(1);
    expect(request!.lastUserText).toBe('check\n[picture: larger than 1000 B]');
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect((post!.body as { markdown: { text: string } }).markdown.text).toContain(
      '⚠️ picture was not passed to the assistant: larger than 1000 B',
    );
  });
});
