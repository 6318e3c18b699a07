import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { useGatewayHarness } from '../helpers/gateway-harness.js';
import { mp3Audio, mp3DurationMs, mp4Video, pdfDocument, pngImage } from '../helpers/media-fixtures.js';

const BATCH_SEND = '/v1.0/robot/oToMessages/batchSend';

const harness = useGatewayHarness({
  tempDirs: { root: 'gateway-media-', outside: 'gateway-outside-' },
  config: ({ root }) => ({ channels: { dingtalk: { mediaRoots: [root] } } }),
});

function markdownText(body: unknown): string {
  return (body as { markdown: { text: string } }).markdown.text;
}

function msgParam(body: unknown): Record<string, string> {
  return JSON.parse((body as { msgParam: string }).msgParam) as Record<string, string>;
}

describe('attachments from the agent', () => {
  it('uploads an image named by a tag split across stream chunks and shows it inline', async () => {
    const { dingtalk, openclaw } = harness;
    const { root } = harness.dirs;
    await harness.start();
    const picture = join(root, '图表 1.png');
    writeFileSync(picture, pngImage());
    const reply = `Here is the chart:\n[DING:IMAGE path="${picture}"]\nDone.`;
    const cut = reply.indexOf('IMAGE') + 2;
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: [reply.slice(0, cut), reply.slice(cut, cut + 9), reply.slice(cut + 9)],
    });
    dingtalk.pushBotMessage(dingtalk.dmText('chart please'));

    const [post] = await dingtalk.waitForWebhookPosts(1);
    const [upload] = dingtalk.uploads;
    expect(upload).toMatchObject({ type: 'image', fileName: '图表 1.png' });
    expect(markdownText(post!.body)).toBe(`Here is the chart:\nDone.\n\n![图表 1.png](${upload!.mediaId})`);
    // The agent was told how to attach media, and where from.
    const system = (openclaw.requests[0]!.body as { messages: { role: string; content: string }[] })
      .messages[0]!;
    expect(system.role).toBe('system');
    expect(system.content).toContain('[DING:IMAGE path=');
    expect(system.content).toContain(root);
  });

  it('sends files, voice and video as their own messages after the text', async () => {
    const { dingtalk, openclaw } = harness;
    const { root } = harness.dirs;
    await harness.start();
    writeFileSync(join(root, 'report.pdf'), pdfDocument());
    writeFileSync(join(root, 'voice.mp3'), mp3Audio(77));
    writeFileSync(join(root, 'clip.mp4'), mp4Video(3));
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: [
        `All three:\n[DING:FILE path="${join(root, 'report.pdf')}" name="Q3 report.pdf"]\n`,
        `[DING:AUDIO path=${join(root, 'voice.mp3')}]\nMEDIA:${join(root, 'clip.mp4')}\n`,
      ],
    });
    dingtalk.pushBotMessage(dingtalk.dmText('send them', { senderStaffId: 'staff-media' }));

    const sends = await dingtalk.waitForApiRequests(BATCH_SEND, 3);
    const [post] = dingtalk.webhookPosts;
    expect(markdownText(post!.body)).toBe('All three:');
    expect(post!.atMs).toBeLessThanOrEqual(sends[0]!.atMs);
    expect(sends.map((send) => (send.body as { msgKey: string }).msgKey)).toEqual([
      'sampleFile',
      'sampleAudio',
      'sampleVideo',
    ]);
    const byName = new Map(dingtalk.uploads.map((upload) => [upload.fileName, upload]));
    expect(msgParam(sends[0]!.body)).toEqual({
      mediaId: byName.get('Q3 report.pdf')!.mediaId,
      fileName: 'Q3 report.pdf',
      fileType: 'pdf',
    });
    const audio = msgParam(sends[1]!.body);
    expect(audio['mediaId']).toBe(byName.get('voice.mp3')!.mediaId);
    // Estimated from the bitrate: within a frame or two of the exact length.
    expect(Math.abs(Number(audio['duration']) - mp3DurationMs(77))).toBeLessThan(60);
    expect(msgParam(sends[2]!.body)).toMatchObject({
      videoMediaId: byName.get('clip.mp4')!.mediaId,
      duration: '3',
      videoType: 'mp4',
    });
    expect(msgParam(sends[2]!.body)['picMediaId']).toBe(byName.get('cover.png')!.mediaId);
    expect(byName.get('voice.mp3')!.type).toBe('voice');
    expect(byName.get('clip.mp4')!.type).toBe('video');
  });

  it('refuses unsafe or unusable paths with a notice, and reads none of them', async () => {
    const { dingtalk, openclaw } = harness;
    const { root, outside } = harness.dirs;
    await harness.start({ media: { maxOutboundFileBytes: 1_000 } });
    writeFileSync(join(outside, 'secret.png'), pngImage());
    symlinkSync(join(outside, 'secret.png'), join(root, 'link.png'));
    writeFileSync(join(root, 'big.png'), Buffer.alloc(2_000, 1));
    writeFileSync(join(root, 'tool.exe'), Buffer.from('MZ'));
    mkdirSync(join(root, 'folder.png'));
    writeFileSync(join(root, 'ok.png'), pngImage());
    const tags = [
      `[DING:IMAGE path="${join(outside, 'secret.png')}"]`,
      `[DING:IMAGE path="${join(root, 'link.png')}"]`,
      `[DING:IMAGE path="${join(root, '..', 'gateway-escape.png')}"]`,
      `[DING:IMAGE path="${join(root, 'missing.png')}"]`,
      `[DING:IMAGE path="${join(root, 'big.png')}"]`,
      `[DING:FILE path="${join(root, 'tool.exe')}"]`,
      `[DING:IMAGE path="${join(root, 'folder.png')}"]`,
      `[DING:IMAGE path="file://${encodeURI(join(root, 'ok.png'))}"]`,
    ];
    openclaw.enqueueReplies({ kind: 'stream', chunks: [`Files:\n${tags.join('\n')}`] });
    dingtalk.pushBotMessage(dingtalk.dmText('everything'));

    const [post] = await dingtalk.waitForWebhookPosts(1);
    const text = markdownText(post!.body);
    expect(text).not.toContain('[DING:');
    expect(text).toContain('⚠️ 3 files could not be sent: outside allowed folders');
    expect(text).toContain('⚠️ 1 file could not be sent: file not found');
    expect(text).toContain('⚠️ 1 file could not be sent: too large');
    expect(text).toContain('⚠️ 1 file could not be sent: file type not supported by DingTalk');
    expect(text).toContain('⚠️ 1 file could not be sent: not a file');
    expect(dingtalk.uploads.map((upload) => upload.fileName)).toEqual(['ok.png']);
    expect(text).toContain(`![ok.png](${dingtalk.uploads[0]!.mediaId})`);
  });

  it('turns a failed upload into a notice and still sends the text', async () => {
    const { dingtalk, openclaw } = harness;
    const { root } = harness.dirs;
    const gw = await harness.start();
    writeFileSync(join(root, 'a.png'), pngImage());
    dingtalk.scriptUpload(() => ({ status: 200, body: { errcode: 40005, errmsg: '不支持的文件格式' } }));
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: [`Picture: [DING:IMAGE path="${join(root, 'a.png')}"] bye`],
    });
    dingtalk.pushBotMessage(dingtalk.dmText('pic'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect(markdownText(post!.body)).toBe('Picture: bye\n\n⚠️ 1 file could not be sent: upload failed');
    const warning = await gw.waitForLog((line) => line.msg === 'attachment not sent');
    expect(String(warning['error'])).toContain('40005');
  });

  it('sends images as image messages in text mode, and refuses remote links unless enabled', async () => {
    const { dingtalk, openclaw } = harness;
    const { root } = harness.dirs;
    await harness.start({ channels: { dingtalk: { replyMode: 'text', mediaRoots: [root] } } });
    writeFileSync(join(root, 'p.png'), pngImage());
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: [`See: [DING:IMAGE path="${join(root, 'p.png')}"]\nMEDIA:https://example.com/remote.png`],
    });
    dingtalk.pushBotMessage(dingtalk.dmText('pic', { senderStaffId: 'texter' }));
    const [send] = await dingtalk.waitForApiRequests(BATCH_SEND, 1);
    expect((send!.body as { msgKey: string }).msgKey).toBe('sampleImageMsg');
    expect(msgParam(send!.body)).toEqual({ photoURL: dingtalk.uploads[0]!.mediaId });
    expect(dingtalk.webhookPosts[0]!.body).toEqual({
      msgtype: 'text',
      text: { content: 'See:\n\n⚠️ 1 file could not be sent: links to remote files are disabled' },
    });
  });

  it('refuses a remote link to a private address even when remote links are enabled', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ media: { allowRemoteUrls: true } });
    openclaw.enqueueReplies({ kind: 'stream', chunks: [`MEDIA:${dingtalk.baseUrl}/files/anything.png\nok`] });
    dingtalk.pushBotMessage(dingtalk.dmText('remote'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect(markdownText(post!.body)).toBe(
      'ok\n\n⚠️ 1 file could not be sent: link points to a private network',
    );
    expect(dingtalk.uploads).toHaveLength(0);
  });
});
