import { describe, expect, it } from 'vitest';

import { extractMediaTags, MAX_MEDIA_TAG_CHARS, MediaTagFilter, type MediaAttachment } from './media-tags.js';

const image = (path: string, raw: string): MediaAttachment => ({
  kind: 'image',
  source: { type: 'path', path },
  name: undefined,
  raw,
});

const textOf = (input: string): string => extractMediaTags(input).text;

describe('extractMediaTags: tags', () => {
  it.each([
    ['double quotes', '[DING:IMAGE path="/data/a.png"]', '/data/a.png'],
    ['single quotes', "[DING:IMAGE path='/data/a b.png']", '/data/a b.png'],
    ['unquoted', '[DING:IMAGE path=/data/a.png]', '/data/a.png'],
    ['lower-case tag', '[ding:image PATH=/data/a.png]', '/data/a.png'],
    ['spaces around =', '[DING:IMAGE path = "/data/a.png" ]', '/data/a.png'],
    ['raw CJK with a space', '[DING:IMAGE path="/data/报告 2024.png"]', '/data/报告 2024.png'],
    ['percent-encoded', '[DING:IMAGE path=/data/%E4%B8%AD%E6%96%87.png]', '/data/中文.png'],
    ['invalid escapes kept', '[DING:IMAGE path="/data/50%.png"]', '/data/50%.png'],
    ['half an escape kept', '[DING:IMAGE path="/d/%E4%B8x%zz.png"]', '/d/%E4%B8x%zz.png'],
    ['file URL', '[DING:IMAGE path="file:///data/%E4%B8%AD.png"]', '/data/中.png'],
    ['file://localhost URL', '[DING:IMAGE path="file://localhost/data/a.png"]', '/data/a.png'],
    ['relative (refused later)', '[DING:IMAGE path="pic.png"]', 'pic.png'],
  ])('%s', (_name, tag, path) => {
    expect(extractMediaTags(`x ${tag} y`).attachments).toEqual([image(path, tag)]);
  });

  it('reads all four kinds, names and URLs, in order of appearance', () => {
    const input =
      '[DING:FILE path="/d/q4.pdf" name="Q4 报告.pdf"] [DING:VIDEO path=/d/v.mp4]\n' +
      "[DING:AUDIO path='https://cdn.example.com/a.mp3' name=''] [DING:IMAGE path=/d/i.png extra=1]";
    expect(extractMediaTags(input).attachments).toEqual([
      {
        kind: 'file',
        source: { type: 'path', path: '/d/q4.pdf' },
        name: 'Q4 报告.pdf',
        raw: '[DING:FILE path="/d/q4.pdf" name="Q4 报告.pdf"]',
      },
      {
        kind: 'video',
        source: { type: 'path', path: '/d/v.mp4' },
        name: undefined,
        raw: '[DING:VIDEO path=/d/v.mp4]',
      },
      {
        kind: 'audio',
        source: { type: 'url', url: 'https://cdn.example.com/a.mp3' },
        name: undefined,
        raw: "[DING:AUDIO path='https://cdn.example.com/a.mp3' name='']",
      },
      image('/d/i.png', '[DING:IMAGE path=/d/i.png extra=1]'),
    ]);
  });

  it('ends an unquoted value at the first ]', () => {
    expect(extractMediaTags('x [DING:IMAGE path=/a]b] y')).toEqual({
      text: 'x b] y',
      attachments: [image('/a', '[DING:IMAGE path=/a]')],
      problems: [],
    });
  });

  it('keeps the first of duplicate attributes', () => {
    expect(extractMediaTags('[DING:IMAGE path=/a.png path=/b.png]').attachments[0]?.source).toEqual({
      type: 'path',
      path: '/a.png',
    });
  });

  it.each([
    ['no path', '[DING:IMAGE]', 'missing-path'],
    ['empty path', '[DING:FILE path="" name=x]', 'missing-path'],
    ['unknown kind', '[DING:PHOTO path=/a.png]', 'unknown-kind'],
    ['no kind', '[DING: path=/a.png]', 'unknown-kind'],
    ['bare word', '[DING:IMAGE hello world]', 'malformed'],
    ['attribute without value', '[DING:IMAGE path]', 'malformed'],
    ['remote file URL', '[DING:IMAGE path="file://server/share/a.png"]', 'unsupported-source'],
    ['other scheme', '[DING:IMAGE path="ftp://host/a.png"]', 'unsupported-source'],
  ])('removes and reports a complete but unusable tag: %s', (_name, tag, reason) => {
    expect(extractMediaTags(`before ${tag} after`)).toEqual({
      text: 'before after',
      attachments: [],
      problems: [{ raw: tag, reason }],
    });
  });

  it.each([
    ['at the very end', 'Done.\n[DING:IMAGE path="/data/a', 'Done.', '[DING:IMAGE path="/data/a'],
    ['right after the opener', 'Done. [DING:', 'Done.', '[DING:'],
    ['mid-attribute', 'Done. [DING:FILE path=/a.pdf name', 'Done.', '[DING:FILE path=/a.pdf name'],
    ['before a line break', 'a [DING:IMAGE path="/x] b\nnext', 'a\nnext', '[DING:IMAGE path="/x] b'],
  ])('drops an unterminated tag %s, up to the end of its line', (_name, input, text, raw) => {
    expect(extractMediaTags(input)).toEqual({
      text,
      attachments: [],
      problems: [{ raw, reason: 'unterminated' }],
    });
  });

  it('leaves a [DING: that runs past MAX_MEDIA_TAG_CHARS as text', () => {
    const long = `[DING:IMAGE path="/${'a'.repeat(MAX_MEDIA_TAG_CHARS)}"]`;
    expect(extractMediaTags(`x ${long}`)).toEqual({ text: `x ${long}`, attachments: [], problems: [] });
    const fits = `[DING:IMAGE path=/${'a'.repeat(MAX_MEDIA_TAG_CHARS - 19)}]`;
    expect(fits).toHaveLength(MAX_MEDIA_TAG_CHARS);
    expect(extractMediaTags(fits).attachments).toHaveLength(1);
  });

  it.each([
    ['a link', 'see [docs](https://x.y) and [DIN] or [DING-IMAGE path=/a]'],
    ['brackets at the end', 'array[0] and [D'],
    ['the Kelvin sign is no k', '[DIN\u212a:IMAGE path=/a.png]'],
  ])('leaves other brackets alone: %s', (_name, input) => {
    expect(extractMediaTags(input)).toEqual({ text: input, attachments: [], problems: [] });
  });
});

describe('extractMediaTags: MEDIA lines', () => {
  it.each([
    ['bare', 'MEDIA:/tmp/a.png', { type: 'path', path: '/tmp/a.png' }],
    ['spaced and indented', '   MEDIA:  /tmp/报告 2024.pdf  ', { type: 'path', path: '/tmp/报告 2024.pdf' }],
    ['backticks', 'MEDIA: `/tmp/a b.png`', { type: 'path', path: '/tmp/a b.png' }],
    [
      'https URL',
      'MEDIA:https://cdn.example.com/a.png?x=1',
      { type: 'url', url: 'https://cdn.example.com/a.png?x=1' },
    ],
    ['file URL', 'MEDIA: file:///tmp/%E4%B8%AD.png', { type: 'path', path: '/tmp/中.png' }],
    ['dot-relative', 'MEDIA:./out/a.png', { type: 'path', path: './out/a.png' }],
    ['CRLF', 'MEDIA:/tmp/a.png\r', { type: 'path', path: '/tmp/a.png' }],
  ])('%s', (_name, line, source) => {
    expect(extractMediaTags(`Here:\n${line}\nDone.`)).toEqual({
      text: 'Here:\nDone.',
      attachments: [{ kind: 'auto', source, name: undefined, raw: line.trim() }],
      problems: [],
    });
  });

  it.each([
    ['prose after MEDIA:', 'MEDIA: none were found'],
    ['lower case', 'media:/tmp/a.png'],
    ['not alone on its line', 'see MEDIA:/tmp/a.png'],
    ['a list item', '- MEDIA:/tmp/a.png'],
    ['empty', 'MEDIA:'],
    ['unsupported scheme', 'MEDIA:ftp://h/a.png'],
  ])('leaves a line as text: %s', (_name, line) => {
    expect(extractMediaTags(`a\n${line}\nb`)).toEqual({
      text: `a\n${line}\nb`,
      attachments: [],
      problems: [],
    });
  });
});

describe('extractMediaTags: code', () => {
  it.each([
    ['a closed fence', '```md\n[DING:IMAGE path=/a.png]\nMEDIA:/tmp/a.png\n```'],
    ['a tilde fence', '~~~\n[DING:IMAGE path=/a.png]\n~~~'],
    ['an unclosed fence', 'text\n```\n[DING:IMAGE path=/a.png]\n\n\nMEDIA:/tmp/a.png'],
    ['a shorter closer inside', '````\n```\n[DING:IMAGE path=/a.png]\n```\n````'],
    ['an indented fence', '  ```\n  [DING:IMAGE path=/a.png]\n  ```'],
    ['an inline code span', 'use `[DING:IMAGE path="/a.png"]` to attach'],
    ['a double-backtick span', 'use ``a ` [DING:IMAGE path=/a.png] b`` ok'],
  ])('leaves attachments in %s as text', (_name, input) => {
    expect(extractMediaTags(input)).toEqual({ text: input, attachments: [], problems: [] });
  });

  it('extracts again after a fence closes, and treats unmatched backticks as text', () => {
    const input = '```\n[DING:IMAGE path=/a.png]\n```\nit`s [DING:IMAGE path=/b.png] here';
    expect(extractMediaTags(input)).toEqual({
      text: '```\n[DING:IMAGE path=/a.png]\n```\nit`s here',
      attachments: [image('/b.png', '[DING:IMAGE path=/b.png]')],
      problems: [],
    });
  });

  it('reads a fence-like line with a backtick in its info as text', () => {
    expect(textOf('```a``` [DING:IMAGE path=/a.png]\nnext')).toBe('```a```\nnext');
  });
});

describe('extractMediaTags: whitespace', () => {
  it.each([
    ['a tag inside a sentence', 'See [DING:IMAGE path=/a] here.', 'See here.'],
    ['a tag glued to words', 'See[DING:IMAGE path=/a]here.', 'Seehere.'],
    ['space only after', 'See[DING:IMAGE path=/a] here.', 'See here.'],
    ['several tags', 'a [DING:IMAGE path=/a]  [DING:IMAGE path=/b]   b', 'a b'],
    ['a tag at the end of a line', 'Done. [DING:IMAGE path=/a]  \nnext', 'Done.\nnext'],
    ['a tag at the start of a line', '[DING:IMAGE path=/a]  Done.', 'Done.'],
    ['indentation is kept', '  - [DING:IMAGE path=/a] item', '  - item'],
    ['indentation before a leading tag', '   [DING:IMAGE path=/a] Done.', '   Done.'],
    ['trailing spaces without tags are kept', 'hard  \nbreak', 'hard  \nbreak'],
    ['a tag line between lines', 'a\n[DING:IMAGE path=/a]\nb', 'a\nb'],
    ['a tag paragraph', 'a\n\n[DING:IMAGE path=/a]\n\nb', 'a\n\nb'],
    ['two tag paragraphs', 'a\n\n[DING:IMAGE path=/a]\n\n\n  [DING:FILE path=/b]  \n\nb', 'a\n\nb'],
    ['a tag paragraph at the start', '\n[DING:IMAGE path=/a]\n\nb', 'b'],
    ['a tag paragraph at the end', 'a\n\n[DING:IMAGE path=/a]\n', 'a'],
    ['only a tag', '[DING:IMAGE path=/a]', ''],
    ['blank runs without tags are kept', '\n\na\n\n\n\nb\n\n', '\n\na\n\n\n\nb\n\n'],
    ['the blank line kept is the first', 'a\n \n\t\n[DING:IMAGE path=/a]\nb', 'a\n \nb'],
    ['CRLF', 'a\r\n\r\n[DING:IMAGE path=/a]\r\n\r\nb\r\n', 'a\r\n\r\nb\r\n'],
    ['ideographic spaces', '图表\u3000[DING:IMAGE path=/a]\u3000见上', '图表\u3000见上'],
    ['empty input', '', ''],
  ])('%s', (_name, input, text) => {
    expect(textOf(input)).toBe(text);
  });
});

describe('MediaTagFilter', () => {
  it('holds back a tag until it closes and releases plain text at once', () => {
    const filter = new MediaTagFilter();
    expect(filter.push('Chart: [DI')).toBe('Chart:');
    expect(filter.push('NG:IMAGE path="/a')).toBe('');
    expect(filter.push('.png"] below')).toBe(' below');
    expect(filter.attachments).toEqual([image('/a.png', '[DING:IMAGE path="/a.png"]')]);
    expect(filter.push(' [not a tag')).toBe(' [not a tag');
    expect(filter.end()).toBe('');
  });

  it('holds a possible MEDIA: line or fence opener until its line ends', () => {
    const filter = new MediaTagFilter();
    expect(filter.push('a\nMED')).toBe('a');
    expect(filter.push('IA:/tmp/x.png')).toBe('');
    expect(filter.push('\n``')).toBe('');
    expect(filter.push('`\n[DING:IMAGE path=/a]')).toBe('\n```\n[DING:IMAGE path=/a]');
    expect(filter.end()).toBe('');
    expect(filter.attachments.map((attachment) => attachment.raw)).toEqual(['MEDIA:/tmp/x.png']);
  });

  it('releases an unclosed [DING: after MAX_MEDIA_TAG_CHARS', () => {
    const filter = new MediaTagFilter();
    let released = filter.push('x [DING:IMAGE path="');
    for (let k = 0; k < MAX_MEDIA_TAG_CHARS && released.length < 2; k++) released += filter.push('a');
    expect(released.length).toBeGreaterThan(MAX_MEDIA_TAG_CHARS - 100);
  });

  it('ends once and refuses pushes afterwards', () => {
    const filter = new MediaTagFilter();
    expect(filter.push('a [DING:IMAGE path=/a')).toBe('a');
    expect(filter.end()).toBe('');
    expect(filter.end()).toBe('');
    expect(filter.problems).toHaveLength(1);
    expect(() => filter.push('x')).toThrow(/after end/);
  });
});
