import { describe, expect, it } from 'vitest';

import type { FakeOpenClawReply } from '../fakes/fake-openclaw.js';
import { useGatewayHarness } from '../helpers/gateway-harness.js';

const harness = useGatewayHarness();

function markdownText(body: unknown): string {
  return (body as { markdown: { text: string } }).markdown.text;
}

/** A long reply mixing paragraphs, CJK sentences, a list and a long code block. */
function longReply(): string {
  const paragraphs: string[] = [];
  for (let index = 0; index < 12; index += 1) {
    paragraphs.push(`Paragraph ${index}: ${'lorem ipsum dolor sit amet, '.repeat(6)}end.`);
    paragraphs.push(`第${index}段：${'这是一个很长的中文句子，用来测试分段。'.repeat(5)}`);
  }
  const code = [
    '```ts',
    ...Array.from({ length: 40 }, (_, line) => `const value${line} = ${line} * 2; // line ${line}`),
    '```',
  ];
  paragraphs.splice(10, 0, code.join('\n'));
  return paragraphs.join('\n\n');
}

const FENCE_LINE = /^\s{0,3}(```|~~~)/;

describe('chunking', () => {
  it('splits a long reply into ordered chunks within maxChars, fences balanced, nothing lost', async () => {
    const { dingtalk, openclaw } = harness;
    const maxChars = 400;
    const gateway = await harness.start({ channels: { dingtalk: { maxChars } } });
    const reply = longReply();
    // Streamed in small uneven pieces, as a model would.
    const pieces = reply.match(/[\s\S]{1,37}/g) ?? [];
    openclaw.enqueueReplies({ kind: 'stream', chunks: pieces });
    dingtalk.pushBotMessage(dingtalk.dmText('write a lot'));

    await openclaw.waitForRequests(1);
    const expectedMinimum = Math.ceil(reply.length / maxChars);
    await dingtalk.waitForWebhookPosts(expectedMinimum);
    await gateway.waitForLog((line) => line.msg === 'reply delivered');
    const texts = dingtalk.webhookPosts.map((post) => markdownText(post.body));

    for (const text of texts) {
      expect(text.length).toBeLessThanOrEqual(maxChars);
      const fenceLines = text.split('\n').filter((line) => FENCE_LINE.test(line));
      expect(fenceLines.length % 2).toBe(0);
    }
    const strip = (text: string): string =>
      text
        .split('\n')
        .filter((line) => !FENCE_LINE.test(line))
        .join('')
        .replace(/\s+/g, '');
    expect(texts.map(strip).join('')).toBe(strip(reply));
    // Posts went out strictly one after another.
    const times = dingtalk.webhookPosts.map((post) => post.atMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});

describe('dedupe', () => {
  it('drops a redelivery of a message that is still being answered, and one that was answered', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start();
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['slow ', 'answer'], chunkDelayMs: 300 });
    const message = dingtalk.dmText('only once');
    const first = dingtalk.pushBotMessage(message);
    await openclaw.waitForRequests(1);
    // DingTalk redelivers with a new frame id and the same msgId.
    const during = dingtalk.pushBotMessage(message);
    await dingtalk.waitForAck(during.messageId);
    await dingtalk.waitForWebhookPosts(1);
    const after = dingtalk.pushBotMessage(message);
    await dingtalk.waitForAck(after.messageId);
    await dingtalk.waitForAck(first.messageId);

    await gw.waitForLog(
      (line) => line.msg.startsWith('duplicate delivery') && line['messageId'] === after.messageId,
    );
    expect(openclaw.requests).toHaveLength(1);
    expect(dingtalk.webhookPosts).toHaveLength(1);
    expect(await gw.metric('gateway_messages_total', { outcome: 'deduped' })).toBe(2);
  });
});

interface FailureCase {
  readonly name: string;
  readonly reply: FakeOpenClawReply;
  readonly notice: string;
  readonly log: RegExp;
}

const FAILURE_CASES: FailureCase[] = [
  {
    name: '401 (wrong token)',
    reply: { kind: 'json', status: 401, body: { error: { message: 'Unauthorized', type: 'unauthorized' } } },
    notice: 'administrator',
    log: /401.*openclaw\.token/,
  },
  {
    name: '502 HTML page',
    reply: { kind: 'raw', status: 502, contentType: 'text/html', body: '<html>bad</html>' },
    notice: 'unavailable',
    log: /502/,
  },
  { name: 'connection destroyed', reply: { kind: 'destroy' }, notice: 'unavailable', log: /unreachable/ },
  {
    name: 'SSE error event',
    reply: { kind: 'stream', chunks: [], error: { message: 'model exploded' } },
    notice: 'error',
    log: /model exploded/,
  },
];

describe('OpenClaw failures', () => {
  it.each(FAILURE_CASES)(
    '$name gives the user a short notice, logged with its cause',
    async ({ reply, notice, log }) => {
      const { dingtalk, openclaw } = harness;
      const gw = await harness.start({ delivery: { turnAttempts: 1 } });
      openclaw.enqueueReplies(reply);
      dingtalk.pushBotMessage(dingtalk.dmText('hello?'));
      const [post] = await dingtalk.waitForWebhookPosts(1);
      expect(markdownText(post!.body)).toContain('⚠️');
      expect(markdownText(post!.body)).toContain(notice);
      const warning = await gw.waitForLog((line) => line.msg.startsWith('agent turn failed'));
      expect(JSON.stringify(warning['err'])).toMatch(log);
      expect(await gw.metric('gateway_turns_total', { outcome: 'error' })).toBe(1);
    },
  );

  it('asks again when OpenClaw fails before streaming anything, and answers once', async () => {
    const { dingtalk, openclaw } = harness;
    const gw = await harness.start();
    openclaw.enqueueReplies(
      { kind: 'raw', status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' },
      { kind: 'destroy' },
    );
    dingtalk.pushBotMessage(dingtalk.dmText('third time lucky'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect(markdownText(post!.body)).toBe('echo: third time lucky');
    expect(openclaw.requests).toHaveLength(3);
    expect(await gw.metric('gateway_turns_total', { outcome: 'ok' })).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(dingtalk.webhookPosts).toHaveLength(1);
  });

  it('does not ask again once text was streamed: the partial answer gets a notice instead', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    openclaw.enqueueReplies({ kind: 'stream', chunks: ['half an answer'], error: { message: 'boom' } });
    dingtalk.pushBotMessage(dingtalk.dmText('go'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    expect(markdownText(post!.body)).toMatch(/^half an answer\n\n⚠️/);
    expect(openclaw.requests).toHaveLength(1);
  });

  it('keeps the text already streamed and adds an interruption notice when the stream breaks', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start();
    openclaw.enqueueReplies({
      kind: 'stream',
      chunks: ['Part one. ', 'Part two.', 'never sent'],
      cutAfterChunks: 2,
    });
    dingtalk.pushBotMessage(dingtalk.dmText('tell me'));
    const [post] = await dingtalk.waitForWebhookPosts(1);
    const text = markdownText(post!.body);
    expect(text.startsWith('Part one. Part two.')).toBe(true);
    expect(text).toContain('interrupted');
    expect(text).not.toContain('never sent');
  });

  it('answers with a timeout notice when the turn exceeds openclaw.timeoutMs, and the next message still works', async () => {
    const { dingtalk, openclaw } = harness;
    await harness.start({ openclaw: { timeoutMs: 500 } });
    openclaw.enqueueReplies({ kind: 'hang' });
    dingtalk.pushBotMessage(dingtalk.dmText('hang please', { senderStaffId: 'same' }));
    dingtalk.pushBotMessage(dingtalk.dmText('and now?', { senderStaffId: 'same' }));
    const posts = await dingtalk.waitForWebhookPosts(2);
    expect(markdownText(posts[0]!.body)).toContain('too long');
    expect(markdownText(posts[1]!.body)).toBe('echo: and now?');
    expect(openclaw.requests[0]!.aborted).toBe(true);
  });
});

describe('webhook answers', () => {
  it('retries a 5xx webhook answer and a throttling errcode, then delivers once', async () => {
    const { dingtalk } = harness;
    await harness.start();
    let calls = 0;
    dingtalk.scriptWebhook(() => {
      calls += 1;
      if (calls === 1) return { status: 503, body: 'busy' };
      if (calls === 2) return { status: 200, body: { errcode: 130101, errmsg: 'send too fast' } };
      return undefined;
    });
    dingtalk.pushBotMessage(dingtalk.dmText('retry me'));
    const posts = await dingtalk.waitForWebhookPosts(3);
    expect(posts.map((post) => post.response.status)).toEqual([503, 200, 200]);
    expect(posts[2]!.response.body).toMatchObject({ errcode: 0 });
  });

  it('refuses a session webhook outside the DingTalk origins and replies through the proactive API instead', async () => {
    const { dingtalk } = harness;
    const gw = await harness.start();
    const message = dingtalk.dmText('forged', {
      senderStaffId: 'staff-9',
      sessionWebhook: 'http://127.0.0.2:9/robot/sendBySession?session=steal',
    });
    dingtalk.pushBotMessage(message);
    const [sent] = await dingtalk.waitForApiRequests('/v1.0/robot/oToMessages/batchSend', 1);
    expect(sent!.body).toMatchObject({ userIds: ['staff-9'], msgKey: 'sampleMarkdown' });
    const warning = await gw.waitForLog((line) => line.msg.startsWith('session webhook failed'));
    expect(String(warning['error'])).toContain('not an allowed DingTalk origin');
    expect(dingtalk.webhookPosts).toHaveLength(0);
  });
});
