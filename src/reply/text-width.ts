/**
 * Measuring and cutting text in user-perceived characters (grapheme clusters), for monospace layout
 * inside code blocks and for cuts that must not tear an emoji or an accented letter apart.
 */

const GRAPHEME_SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * How far {@link graphemeBoundaryAtOrBefore} looks back for the start of a cluster. Real clusters
 * (family emoji, flags with tags, stacked diacritics) stay far below this; longer "zalgo" runs fall
 * back to a surrogate-safe cut.
 */
const GRAPHEME_LOOKBEHIND_CHARS = 64;

/** Look-ahead so that marks following the cut position are seen as part of the cluster before it. */
const GRAPHEME_LOOKAHEAD_CHARS = 16;

/**
 * Code points that East Asian fonts draw two columns wide (East_Asian_Width W or F). JavaScript has
 * no property escape for East_Asian_Width, so the blocks are listed here; emoji are detected
 * separately through `Emoji_Presentation`.
 */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi radicals, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compat jamo, enclosed CJK, CJK compat
  [0x3400, 0x4dbf], // CJK Extension A
  [0x4e00, 0x9fff], // CJK Unified Ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo Extended-A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK Compatibility Ideographs
  [0xfe10, 0xfe19], // Vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // Fullwidth ASCII variants
  [0xffe0, 0xffe6], // Fullwidth signs
  [0x16fe0, 0x16fe4], // Ideographic symbols
  [0x17000, 0x18cff], // Tangut, Khitan
  [0x1b000, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // Enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK Extensions B-F, compatibility supplement
  [0x30000, 0x3fffd], // CJK Extensions G-H
];

const ZERO_WIDTH_START = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u;
const EMOJI_PRESENTATION_START = /^\p{Emoji_Presentation}/u;
const PICTOGRAPHIC_START = /^\p{Extended_Pictographic}/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/**
 * Text where every UTF-16 unit is a whole cluster with no emoji presentation (Latin, Greek, Cyrillic,
 * CJK, kana, Hangul syllables, fullwidth forms), so it can be measured per unit without segmenting.
 * Soft hyphen, combining kana and ideographic tone marks are left out on purpose.
 */
const SIMPLE_TEXT =
  /^[\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u3000-\u3029\u3030-\u303e\u3041-\u3096\u309b-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff01-\uffdc]*$/;
const TEXT_PRESENTATION_SELECTOR = '\ufe0e';
const EMOJI_PRESENTATION_SELECTOR = '\ufe0f';
const COMBINING_KEYCAP = '\u20e3';

function isWideCodePoint(codePoint: number): boolean {
  for (const [first, last] of WIDE_RANGES) {
    if (codePoint < first) return false;
    if (codePoint <= last) return true;
  }
  return false;
}

function clusterWidth(cluster: string): number {
  const codePoint = cluster.codePointAt(0) ?? 0;
  if (ZERO_WIDTH_START.test(cluster)) return 0;
  if (cluster.includes(TEXT_PRESENTATION_SELECTOR)) return isWideCodePoint(codePoint) ? 2 : 1;
  const isEmoji =
    EMOJI_PRESENTATION_START.test(cluster) ||
    cluster.includes(COMBINING_KEYCAP) ||
    (cluster.includes(EMOJI_PRESENTATION_SELECTOR) && PICTOGRAPHIC_START.test(cluster));
  return isEmoji || isWideCodePoint(codePoint) ? 2 : 1;
}

/**
 * Number of monospace columns `text` occupies, counting per grapheme cluster: CJK and fullwidth
 * characters and emoji (including ZWJ sequences and flags) take 2, combining marks and other
 * zero-width or control characters 0, everything else 1. East Asian "ambiguous" characters count 1.
 * `text` should be a single line; line breaks count 0.
 */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let columns = 0;
  if (SIMPLE_TEXT.test(text)) {
    for (let index = 0; index < text.length; index++)
      columns += isWideCodePoint(text.charCodeAt(index)) ? 2 : 1;
    return columns;
  }
  for (const { segment } of GRAPHEME_SEGMENTER.segment(text)) columns += clusterWidth(segment);
  return columns;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * `index`, or `index - 1` when cutting at `index` would separate the two halves of a surrogate pair.
 * The weakest guarantee every cut in this module keeps.
 */
export function surrogateSafeIndex(text: string, index: number): number {
  const isInsidePair =
    index > 0 &&
    index < text.length &&
    isLowSurrogate(text.charCodeAt(index)) &&
    isHighSurrogate(text.charCodeAt(index - 1));
  return isInsidePair ? index - 1 : index;
}

/**
 * The greatest grapheme-cluster boundary that is `<= index` (a UTF-16 offset), so that
 * `text.slice(0, result)` never ends inside an emoji sequence, a flag, a letter with combining marks
 * or a CRLF pair. Clusters longer than the look-behind window are cut surrogate-safely instead.
 * `index` is clamped to `[0, text.length]`.
 */
export function graphemeBoundaryAtOrBefore(text: string, index: number): number {
  if (index <= 0) return 0;
  if (index >= text.length) return text.length;
  const windowStart = Math.max(0, index - GRAPHEME_LOOKBEHIND_CHARS);
  const windowEnd = Math.min(text.length, index + GRAPHEME_LOOKAHEAD_CHARS);
  const cluster = GRAPHEME_SEGMENTER.segment(text.slice(windowStart, windowEnd)).containing(
    index - windowStart,
  );
  const clusterStart = windowStart + (cluster?.index ?? 0);
  if (clusterStart > windowStart || windowStart === 0) return clusterStart;
  return surrogateSafeIndex(text, index);
}
