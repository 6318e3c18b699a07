import { describe, expect, it } from 'vitest';

import { BotMessage } from '../dingtalk/bot-message.js';
import { messageText, normalizeBotMessage, PLACEHOLDERS } from './normalize.js';

const NOW_MS = 1_769_851_700_000;

/** A DM text message as DingTalk sends it (protocol reference §2.2), validated by the real schema. */
function bot(overrides: Record<string, unknown> = {}): BotMessage {
  return BotMessage.parse({
    conversationId: 'cidABCDEFGHIJKLMNOP4g=',
    chatbotCorpId: 'dingc5344d64bd47d252',
    chatbotUserId: '$:LWCP_v1:$Ye+/QnqHtPJ6FGksGAAsQyD+nsGwOaAd',
    msgId: 'msgMxpQ+qegFQ4MpgOyu0UFrQ==',
    senderNick: '张三',
    isAdmin: true,
    senderStaffId: 'manager807',
    sessionWebhookExpiredTime: 1769857097744,
    createAt: 1769851697611,
    senderCorpId: 'dingc5344d64bd47d252',
    conversationType: '1',
    senderId: '$:LWCP_v1:$ABCDEFGHIJKLMNOPQRSTUV==',
    sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=79b4xxxxxxxx4d4b',
    robotCode: 'dingrobot',
    msgtype: 'text',
    text: { content: 'hello DingTalk!' },
    ...overrides,
  });
}

function rich(elements: unknown): BotMessage {
  return bot({ msgtype: 'richText', text: undefined, content: { richText: elements } });
}

describe('messageText', () => {
  it.each([
    ['text', bot(), 'hello DingTalk!'],
    [
      'text from content when text is missing',
      bot({ text: undefined, content: { content: 'from content' } }),
      'from content',
    ],
    ['text with an empty text object', bot({ text: {}, content: undefined }), ''],
    ['text with nothing at all', bot({ text: undefined }), ''],
    [
      'audio with recognition',
      bot({
        msgtype: 'audio',
        text: undefined,
        content: { downloadCode: 'd', recognition: '钉钉，让进步发生' },
      }),
      '钉钉，让进步发生',
    ],
    [
      'audio without recognition',
      bot({ msgtype: 'audio', text: undefined, content: { downloadCode: 'd' } }),
      '[voice message]',
    ],
    [
      'audio with blank recognition',
      bot({ msgtype: 'audio', text: undefined, content: { recognition: '  ' } }),
      '[voice message]',
    ],
    [
      'picture',
      bot({ msgtype: 'picture', text: undefined, content: { pictureDownloadCode: 'p', downloadCode: 'd' } }),
      '[picture]',
    ],
    [
      'video',
      bot({
        msgtype: 'video',
        text: undefined,
        content: { duration: '5', videoType: 'mp4', downloadCode: 'd' },
      }),
      '[video]',
    ],
    [
      'file with a name',
      bot({ msgtype: 'file', text: undefined, content: { fileName: 'foobar.zip', downloadCode: 'd' } }),
      '[file: foobar.zip]',
    ],
    [
      'file without a name',
      bot({ msgtype: 'file', text: undefined, content: { downloadCode: 'd' } }),
      '[file]',
    ],
    ['file without content', bot({ msgtype: 'file', text: undefined }), '[file]'],
    [
      'markdown with text',
      bot({ msgtype: 'markdown', text: undefined, content: { title: 't', text: '# Hi' } }),
      '# Hi',
    ],
    [
      'markdown without text',
      bot({ msgtype: 'markdown', text: undefined, content: {} }),
      '[unsupported message type: markdown]',
    ],
    [
      'unknownMsgType',
      bot({
        msgtype: 'unknownMsgType',
        text: undefined,
        content: { unknownMsgType: '用户发送了一条消息，机器人暂不支持接收。' },
      }),
      '[unsupported message type: unknownMsgType]',
    ],
    [
      'interactiveCard',
      bot({ msgtype: 'interactiveCard', text: undefined, content: {} }),
      '[unsupported message type: interactiveCard]',
    ],
  ])('%s', (_name, input, expected) => {
    expect(messageText(input)).toBe(expected);
  });

  it.each([
    ['audio', { recognition: 'spoken words' }, 'spoken words'],
    ['file', { fileName: 'report.pdf' }, '[file: report.pdf]'],
    ['markdown', { text: 'md body' }, 'md body'],
    ['text', { content: 'string content' }, 'string content'],
  ])('reads %s content given as a JSON string', (msgtype, content, expected) => {
    expect(messageText(bot({ msgtype, text: undefined, content: JSON.stringify(content) }))).toBe(expected);
  });

  it.each([
    ['broken JSON', '{"recognition":'],
    ['a JSON array', '["recognition"]'],
    ['a JSON number', '5'],
    ['a plain string', 'hello'],
    ['null', null],
    ['an array', ['recognition']],
  ])('falls back to a placeholder when content is %s', (_name, content) => {
    expect(messageText(bot({ msgtype: 'audio', text: undefined, content }))).toBe(PLACEHOLDERS.audio);
  });

  describe('richText', () => {
    it('joins text and puts each placeholder on its own line (documented sample)', () => {
      const input = rich([
        { text: '这个问题示例图如下：' },
        { type: 'picture', downloadCode: 'mIofxxxx7A==', pictureDownloadCode: 'pWjAxxxxSjIg' },
        { text: '通过以上示意图可以明白完整的交互流程' },
      ]);
      expect(messageText(input)).toBe(
        '这个问题示例图如下：\n[picture]\n通过以上示意图可以明白完整的交互流程',
      );
    });

    it('keeps every picture of a multi-image message', () => {
      const input = rich([
        { type: 'picture', downloadCode: 'a' },
        { type: 'picture', downloadCode: 'b' },
        { text: 'compare these' },
      ]);
      expect(messageText(input)).toBe('[picture]\n[picture]\ncompare these');
    });

    it('does not add a second line break when a segment already carries one', () => {
      expect(messageText(rich([{ text: 'line one\n' }, { type: 'picture' }, { text: '\nline two' }]))).toBe(
        'line one\n[picture]\nline two',
      );
    });

    it.each([
      ['video', { type: 'video', downloadCode: 'v' }, '[video]'],
      ['audio', { type: 'audio', downloadCode: 'a' }, '[voice message]'],
      ['file with a name', { type: 'file', fileName: 'plan.xlsx' }, '[file: plan.xlsx]'],
      ['file without a name', { type: 'file' }, '[file]'],
      ['an explicit text part', { type: 'text', text: 'typed text' }, 'typed text'],
      ['a mention', { type: 'at', atName: 'Bob', atUserId: 'u1' }, '@Bob'],
    ])('renders %s', (_name, element, expected) => {
      expect(messageText(rich([element]))).toBe(expected);
    });

    it('keeps mentions in order with the text around them', () => {
      const text = messageText(rich([{ text: 'ask' }, { type: 'at', atName: 'Bob' }, { text: 'about it' }]));
      expect(text).toMatch(/^ask\s*@Bob\s*about it$/);
    });

    it.each([
      ['a mention without a name', { type: 'at', atUserId: 'u1' }],
      ['an unknown element type without text', { type: 'skill', skillData: { a: 1 } }],
      ['an empty text', { text: '' }],
      ['a blank text', { text: '   ' }],
      ['a number', 42],
      ['null', null],
      ['an array', ['x']],
    ])('drops %s', (_name, element) => {
      expect(messageText(rich([{ text: 'a' }, element, { text: 'b' }]))).toBe(
        messageText(rich([{ text: 'a' }, { text: 'b' }])),
      );
    });

    it('uses the text of an unknown element type that has text', () => {
      expect(messageText(rich([{ type: 'skill', text: 'skill text' }]))).toBe('skill text');
    });

    it('reads the old richText.richTextList shape', () => {
      const input = bot({
        msgtype: 'richText',
        text: undefined,
        content: { richText: { richTextList: [{ text: 'old' }, { type: 'picture', downloadCode: 'p' }] } },
      });
      expect(messageText(input)).toBe('old\n[picture]');
    });

    it('reads a top-level content.richTextList', () => {
      const input = bot({
        msgtype: 'richText',
        text: undefined,
        content: { richTextList: [{ text: 'flat' }] },
      });
      expect(messageText(input)).toBe('flat');
    });

    it('reads richText content given as a JSON string', () => {
      const input = bot({
        msgtype: 'richText',
        text: undefined,
        content: JSON.stringify({ richText: [{ text: 'from string' }, { type: 'picture' }] }),
      });
      expect(messageText(input)).toBe('from string\n[picture]');
    });

    it('reads elements given as JSON strings', () => {
      expect(messageText(rich([JSON.stringify({ text: 'encoded' })]))).toBe('encoded');
    });

    it.each([
      ['no content', undefined],
      ['an empty object', {}],
      ['richText not a list', { richText: 'text' }],
      ['an empty list', { richText: [] }],
    ])('is empty for %s', (_name, content) => {
      expect(messageText(bot({ msgtype: 'richText', text: undefined, content }))).toBe('');
    });
  });
});

describe('normalizeBotMessage', () => {
  it('maps a DM text message', () => {
    expect(normalizeBotMessage('default', 'clientid', bot(), NOW_MS)).toEqual({
      accountId: 'default',
      dedupeKey: 'dingrobot:msgMxpQ+qegFQ4MpgOyu0UFrQ==',
      msgId: 'msgMxpQ+qegFQ4MpgOyu0UFrQ==',
      msgtype: 'text',
      chatType: 'dm',
      conversationId: 'cidABCDEFGHIJKLMNOP4g=',
      conversationTitle: undefined,
      senderKey: 'manager807',
      senderStaffId: 'manager807',
      senderId: '$:LWCP_v1:$ABCDEFGHIJKLMNOPQRSTUV==',
      senderNick: '张三',
      isMentioned: false,
      text: 'hello DingTalk!',
      segments: [{ type: 'text', text: 'hello DingTalk!' }],
      quoted: undefined,
      sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=79b4xxxxxxxx4d4b',
      sessionWebhookExpiresAtMs: 1769857097744,
      createdAtMs: 1769851697611,
    });
  });

  it('maps a group message and trims the space left where the @mention was removed', () => {
    const input = bot({
      conversationType: '2',
      conversationId: 'cidAsXSBLnA==',
      conversationTitle: '测试群',
      isInAtList: true,
      atUsers: [{ dingtalkId: '$:LWCP_v1:$4abcTgHFUDZ8Qi8qr3' }],
      text: { content: ' 测试数据' },
    });
    expect(normalizeBotMessage('default', 'clientid', input, NOW_MS)).toMatchObject({
      chatType: 'group',
      conversationId: 'cidAsXSBLnA==',
      conversationTitle: '测试群',
      isMentioned: true,
      text: '测试数据',
    });
  });

  it.each([
    ['"1"', '1', 'dm'],
    ['"2"', '2', 'group'],
    ['an unknown value', '3', 'dm'],
  ])('conversationType %s is a %s', (_name, conversationType, chatType) => {
    expect(normalizeBotMessage('a', 'r', bot({ conversationType }), NOW_MS).chatType).toBe(chatType);
  });

  it.each([
    ['the message robotCode', { robotCode: 'fromMessage' }, 'fromMessage:msg-9'],
    ['the account robotCode when the message has none', { robotCode: undefined }, 'account-robot:msg-9'],
    ['the account robotCode when the message robotCode is blank', { robotCode: ' ' }, 'account-robot:msg-9'],
  ])('builds the dedupe key from %s', (_name, overrides, expected) => {
    const input = bot({ msgId: 'msg-9', ...overrides });
    expect(normalizeBotMessage('a', 'account-robot', input, NOW_MS).dedupeKey).toBe(expected);
  });

  it.each([
    ['staffId when present', {}, 'manager807'],
    [
      'senderId when staffId is empty (external user)',
      { senderStaffId: '' },
      '$:LWCP_v1:$ABCDEFGHIJKLMNOPQRSTUV==',
    ],
    ['senderId when staffId is missing', { senderStaffId: undefined }, '$:LWCP_v1:$ABCDEFGHIJKLMNOPQRSTUV=='],
    ['"unknown" when neither exists', { senderStaffId: undefined, senderId: undefined }, 'unknown'],
  ])('uses %s as senderKey', (_name, overrides, expected) => {
    expect(normalizeBotMessage('a', 'r', bot(overrides), NOW_MS).senderKey).toBe(expected);
  });

  it('turns blank optional strings into undefined', () => {
    const result = normalizeBotMessage(
      'a',
      'r',
      bot({ senderStaffId: '', senderNick: ' ', conversationTitle: '', sessionWebhook: '' }),
      NOW_MS,
    );
    expect(result).toMatchObject({
      senderStaffId: undefined,
      senderNick: undefined,
      conversationTitle: undefined,
      sessionWebhook: undefined,
    });
  });

  it('uses the receive time when createAt is missing', () => {
    expect(normalizeBotMessage('a', 'r', bot({ createAt: undefined }), NOW_MS).createdAtMs).toBe(NOW_MS);
  });

  it('isMentioned is only true for isInAtList === true', () => {
    expect(normalizeBotMessage('a', 'r', bot({ isInAtList: false }), NOW_MS).isMentioned).toBe(false);
    expect(normalizeBotMessage('a', 'r', bot({ isInAtList: undefined }), NOW_MS).isMentioned).toBe(false);
  });

  it('trims the text of every type', () => {
    const input = bot({ msgtype: 'audio', text: undefined, content: { recognition: '  spoken \n' } });
    expect(normalizeBotMessage('a', 'r', input, NOW_MS).text).toBe('spoken');
  });
});
