import { describe, expect, it } from 'vitest';

import { MAX_TITLE_CHARS, stripInlineMarkdown, titleFromMarkdown } from './markdown-title.js';

describe('titleFromMarkdown', () => {
  it.each([
    ['plain text', 'Hello there\nsecond line', 'Hello there'],
    ['leading blank lines', '\n  \n\tHello', 'Hello'],
    ['ATX heading', '## Deploy steps ##', 'Deploy steps'],
    ['hash without space is text', '#hashtag and C#', '#hashtag and C#'],
    ['blockquote', '> > quoted text', 'quoted text'],
    ['bullet list', '- first item', 'first item'],
    ['ordered list', '12) twelfth', 'twelfth'],
    ['task list', '- [x] done task', 'done task'],
    ['nested prefixes', '> - ### Title', 'Title'],
    ['emphasis', '**bold** and *italic* and __strong__ and _em_', 'bold and italic and strong and em'],
    ['nested emphasis', '***both*** **a *b* c**', 'both a b c'],
    ['strikethrough', '~~old~~ new', 'old new'],
    ['snake_case stays', 'call my_func_name now', 'call my_func_name now'],
    ['arithmetic stars stay', '2 * 3 * 4', '2 * 3 * 4'],
    ['inline code', 'Run `npm *install*` now', 'Run npm *install* now'],
    ['double backtick code', '``a ` b`` done', 'a ` b done'],
    ['link', 'See [the docs](https://example.com/x "T") please', 'See the docs please'],
    ['reference link', 'See [the docs][1]', 'See the docs'],
    ['image with alt', '![Chart](https://img.example/c.png) of sales', 'Chart of sales'],
    ['image without alt then text', '![](x.png)\nCaption', 'Caption'],
    ['autolink', '<https://example.com/a>', 'https://example.com/a'],
    ['HTML tags', '<b>Bold</b> move<br>next', 'Bold move next'],
    ['escapes', '\\*not emphasis\\* and \\[x\\]', '*not emphasis* and [x]'],
    ['entities', 'Tom &amp; Jerry &lt;3 &#x1F600;', 'Tom & Jerry <3 😀'],
    ['collapsed whitespace', 'a \t  b   c  ', 'a b c'],
    ['fence lines skipped', '```ts\nconst x = 1;\n```', 'const x = 1;'],
    ['tilde fence in a quote skipped', '> ~~~\n> code', 'code'],
    ['thematic break skipped', '* * *\n---\nAfter', 'After'],
    ['table row', '| Name | Age |\n|---|---|\n| a | 1 |', 'Name Age'],
    ['CJK', '# 部署步骤：**第一步**', '部署步骤：第一步'],
  ])('handles %s', (_name, markdown, expected) => {
    expect(titleFromMarkdown(markdown, 'Fallback')).toBe(expected);
  });

  it.each([
    ['empty input', ''],
    ['whitespace only', ' \n\t\n'],
    ['only fences', '```\n```'],
    ['only an image without alt', '![](https://img.example/x.png)'],
    ['only markers', '> #\n- \n***'],
  ])('falls back for %s', (_name, markdown) => {
    expect(titleFromMarkdown(markdown, 'Reply')).toBe('Reply');
  });

  it('truncates long titles with an ellipsis', () => {
    const title = titleFromMarkdown('word '.repeat(30), 'x');
    expect(title).toHaveLength(MAX_TITLE_CHARS);
    expect(title).toBe(`${'word '.repeat(11)}word…`);
  });

  it('keeps exactly MAX_TITLE_CHARS untouched', () => {
    expect(titleFromMarkdown('a'.repeat(MAX_TITLE_CHARS), 'x')).toBe('a'.repeat(MAX_TITLE_CHARS));
  });

  it.each([
    ['surrogate pairs', '😀'],
    ['ZWJ sequences', '👨‍👩‍👧'],
  ])('does not split %s when truncating', (_name, unit) => {
    const title = titleFromMarkdown(unit.repeat(40), 'x');
    expect(title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(title.endsWith('…')).toBe(true);
    expect(title.slice(0, -1).replaceAll(unit, '')).toBe('');
  });

  it('stays fast on a huge first line full of markers', () => {
    const markdown = '**a `b '.repeat(200_000);
    const startedMs = performance.now();
    expect(titleFromMarkdown(markdown, 'x').length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(performance.now() - startedMs).toBeLessThan(500);
  });

  it('collapses and truncates the fallback too', () => {
    expect(titleFromMarkdown('', `  ${'f'.repeat(100)}`)).toBe(`${'f'.repeat(MAX_TITLE_CHARS - 1)}…`);
  });
});

describe('stripInlineMarkdown', () => {
  it.each([
    ['image inside link', '[![logo](a.png)](https://x.y)', 'logo'],
    ['link text with emphasis', '[**bold** link](u)', 'bold link'],
    ['escaped backtick is not code', '\\`not code\\` *em*', '`not code` em'],
    ['backslash inside code is literal', '`a\\*b`', 'a\\*b'],
    ['unclosed backticks are literal', 'a ``b` c', 'a ``b` c'],
    ['HTML comment', 'a<!-- hidden -->b', 'ab'],
    ['lone brackets', '[note] and [^1]', '[note] and [^1]'],
    ['angle brackets that are not tags', 'a < b > c', 'a < b > c'],
    ['escaped stars next to emphasis', '\\*x\\* and *y*', '*x* and y'],
    [
      'unknown and invalid references',
      '&constructor; &#xD800; &#0; &copy;',
      '&constructor; &#xD800; &#0; &copy;',
    ],
  ])('handles %s', (_name, markdown, expected) => {
    expect(stripInlineMarkdown(markdown)).toBe(expected);
  });
});
