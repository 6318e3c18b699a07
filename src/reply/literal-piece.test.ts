import { describe, expect, it } from 'vitest';

import { leavesFenceOpen } from './fences.js';
import { literalPiece } from './literal-piece.js';

const pieceOf = (text: string, maxChars = 50): ReturnType<typeof literalPiece> =>
  literalPiece(text, { contentStart: 0, firstVisible: 0, contentEnd: text.trimEnd().length, maxChars });

describe('literalPiece', () => {
  it('fences text with backticks unless its first line starts with them', () => {
    expect(pieceOf('~~~~ tildes')).toEqual({ text: '```\n~~~~ tildes\n```', end: 11 });
    expect(pieceOf('```a and more')).toEqual({ text: '~~~\n```a and more\n~~~', end: 13 });
  });

  it('ends before a later line that could close the fence', () => {
    expect(pieceOf('```a\nb\n~~~~x\nc')).toEqual({ text: '~~~\n```a\nb\n~~~', end: 6 });
  });

  it('picks the fence character that covers more text', () => {
    expect(pieceOf('a\n```\nb\n~~~\nc\nd')).toEqual({ text: '~~~\na\n```\nb\n~~~', end: 7 });
  });

  it('stays within maxChars, balanced, on a grapheme boundary', () => {
    const text = '😀'.repeat(40);
    const piece = pieceOf(text);
    expect(piece.text.length).toBeLessThanOrEqual(50);
    expect(piece.end % 2).toBe(0);
    expect(leavesFenceOpen(piece.text)).toBe(false);
  });

  it('prefers a line break late in the window to a cut mid-line', () => {
    const text = `${'a'.repeat(30)}\n${'b'.repeat(30)}`;
    expect(pieceOf(text)).toEqual({ text: `\`\`\`\n${'a'.repeat(30)}\n\`\`\``, end: 30 });
  });
});
