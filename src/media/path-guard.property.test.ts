import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fuzzParams } from '../../test/helpers/fast-check.js';
import { extractMediaTags } from './media-tags.js';
import { resolveMediaPath } from './path-guard.js';

/**
 * No agent-written location reaches a file outside `mediaRoots`: paths built from `..`, `.`,
 * symlinks (in → in, in → out, directory links, loops), sibling folders sharing the root's name as
 * a prefix, percent-encoded and `file:` forms, full-width dots and other unicode, checked against a
 * real temporary tree. Every accepted path must be a known file inside the root.
 */

const MAX_BYTES = 10_000;

let base = '';
let root = '';
/** Real paths of the regular files inside the root (what an accepted path may resolve to). */
const insideFiles = new Set<string>();

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'media-guard-fuzz-')));
  root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
  await mkdir(join(root, '中文'), { recursive: true });
  await mkdir(join(root, '..%2f'), { recursive: true });
  await mkdir(outside);
  await mkdir(join(base, 'root-evil'));
  const inside = [
    ['a.png'],
    ['sub', 'b.pdf'],
    ['sub', 'deeper', 'c.mp3'],
    ['中文', '图 片.png'],
    ['..%2f', 'literal.png'],
    ['ａ.png'],
  ];
  for (const segments of inside) {
    await writeFile(join(root, ...segments), 'inside');
    insideFiles.add(join(root, ...segments));
  }
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await writeFile(join(outside, 'a.png'), 'outside');
  await writeFile(join(base, 'root-evil', 'a.png'), 'sibling');
  await writeFile(join(base, 'a.png'), 'parent');
  await symlink(join(root, 'a.png'), join(root, 'link-in'));
  await symlink(join(outside, 'secret.txt'), join(root, 'link-out'));
  await symlink(outside, join(root, 'dirlink-out'));
  await symlink(join(root, 'sub'), join(root, 'dirlink-in'));
  await symlink('../outside/a.png', join(root, 'sub', 'relative-out'));
  await symlink(join(root, 'loop'), join(root, 'loop'));
  await symlink('/', join(root, 'slash'));
  await symlink(root, join(base, 'root-link'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const SEGMENTS = [
  '..',
  '..',
  '.',
  '',
  'root',
  'root-evil',
  'root-link',
  'outside',
  'secret.txt',
  'a.png',
  'ａ.png',
  'sub',
  'deeper',
  'b.pdf',
  'c.mp3',
  '中文',
  '图 片.png',
  'link-in',
  'link-out',
  'dirlink-in',
  'dirlink-out',
  'relative-out',
  'loop',
  'slash',
  'etc',
  'passwd',
  '..%2f',
  'literal.png',
  '%2e%2e',
  '%2E%2E%2F%2E%2E',
  '．．',
  '..\u200b',
  '.\u0000.',
  '~',
];

type Start = 'root' | 'base' | 'slash' | 'root-link' | 'relative';

/** How the location is written: as a plain path, percent-encoded, or as a file: URL. */
type Form = 'plain' | 'encoded-dots' | 'encoded-all' | 'file-url' | 'file-localhost';

function startOf(start: Start): string {
  switch (start) {
    case 'root':
      return root;
    case 'base':
      return base;
    case 'slash':
      return '';
    case 'root-link':
      return join(base, 'root-link');
    case 'relative':
      return '.';
  }
}

function written(path: string, form: Form): string {
  switch (form) {
    case 'plain':
      return path;
    case 'encoded-dots':
      return path.replaceAll('..', '%2e%2e');
    case 'encoded-all':
      return path
        .split('/')
        .map((segment) => encodeURIComponent(segment))
        .join('/');
    case 'file-url':
      return `file://${path}`;
    case 'file-localhost':
      return `file://localhost${path}`;
  }
}

/** Detours that may or may not come back: `sub/..` does, `dirlink-out/..` lands in the parent. */
const WALKS = [
  ['sub', '..'],
  ['.'],
  [''],
  ['dirlink-in', '..'],
  ['dirlink-out', '..'],
  ['..', 'root'],
  ['..', 'root-evil'],
  ['..', 'root-link'],
  ['slash', 'tmp'],
  ['sub', 'deeper', '..', '..'],
  ['中文', '..'],
  ['%2e%2e'],
  ['．．'],
];

/** Files that exist: inside the root (directly or through links) or outside it. */
const TARGETS = [
  ['a.png'],
  ['ａ.png'],
  ['sub', 'b.pdf'],
  ['sub', 'deeper', 'c.mp3'],
  ['中文', '图 片.png'],
  ['..%2f', 'literal.png'],
  ['link-in'],
  ['dirlink-in', 'b.pdf'],
  ['link-out'],
  ['dirlink-out', 'secret.txt'],
  ['dirlink-out', 'a.png'],
  ['sub', 'relative-out'],
  ['..', 'outside', 'secret.txt'],
  ['..', 'a.png'],
  ['..', 'root-evil', 'a.png'],
  ['slash', 'etc', 'passwd'],
  ['loop'],
  ['sub'],
];

/** Segments anywhere: realistic paths with detours, or anything from the segment pool. */
const segmentList = fc.oneof(
  fc
    .tuple(fc.array(fc.constantFrom(...WALKS), { maxLength: 3 }), fc.constantFrom(...TARGETS))
    .map(([walks, target]) => [...walks.flat(), ...target]),
  fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 8 }),
);

const locations = fc
  .record({
    start: fc.constantFrom<Start>('root', 'root', 'root', 'base', 'slash', 'root-link', 'relative'),
    segments: segmentList,
    separator: fc.constantFrom('/', '/', '/', '//', '/./'),
    form: fc.constantFrom<Form>(
      'plain',
      'plain',
      'encoded-dots',
      'encoded-all',
      'file-url',
      'file-localhost',
    ),
    syntax: fc.constantFrom('tag', 'tag-quoted', 'media-line'),
  })
  .map(({ start, segments, separator, form, syntax }) => {
    const path = `${startOf(start)}${separator}${segments.join(separator)}`;
    const location = written(path, form);
    const reply =
      syntax === 'media-line'
        ? `see\nMEDIA:${location}\n`
        : syntax === 'tag'
          ? `see [DING:FILE path=${location.replaceAll(' ', '%20')}]`
          : `see [DING:IMAGE path="${location.replaceAll('"', '%22')}"]`;
    return { location, reply };
  });

function isInsideRoot(path: string): boolean {
  return path.startsWith(root + sep);
}

interface Verdicts {
  readonly accepted: number;
  readonly refused: number;
  readonly violations: string[];
}

/** Runs the reply through tag extraction and the guard; lists every accepted path that escapes. */
async function verdicts(reply: string, roots: readonly string[]): Promise<Verdicts> {
  const { attachments } = extractMediaTags(reply);
  let accepted = 0;
  let refused = 0;
  const violations: string[] = [];
  for (const attachment of attachments) {
    if (attachment.source.type !== 'path') continue;
    const result = await resolveMediaPath(attachment.source.path, roots, MAX_BYTES);
    if (!result.ok) {
      refused += 1;
      continue;
    }
    accepted += 1;
    const real = await realpath(result.realPath);
    if (!isInsideRoot(result.realPath) || !insideFiles.has(result.realPath) || real !== result.realPath) {
      violations.push(`${attachment.source.path} → ${result.realPath} (really ${real})`);
    }
  }
  return { accepted, refused, violations };
}

const ROOT_FORMS = {
  plain: (): string[] => [root, 'relative/ignored'],
  symlinked: (): string[] => [join(base, 'root-link')],
  'trailing slash': (): string[] => [`${root}/`, join(base, 'missing')],
} as const;

describe('media tags and the path guard (property)', () => {
  it.each(Object.keys(ROOT_FORMS) as (keyof typeof ROOT_FORMS)[])(
    'never accept a location whose real file lies outside mediaRoots (%s root)',
    async (form) => {
      const roots = ROOT_FORMS[form]();
      let accepted = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(locations, async (generated) => {
          const result = await verdicts(generated.reply, roots);
          accepted += result.accepted;
          refused += result.refused;
          expect(result.violations).toEqual([]);
        }),
        fuzzParams(700),
      );
      // Both outcomes must be common, or the generator is not exercising the guard.
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(200);
    },
  );

  it('accept nothing at all without a usable root', async () => {
    await fc.assert(
      fc.asyncProperty(locations, async (generated) => {
        const result = await verdicts(generated.reply, ['relative', join(base, 'missing')]);
        expect(result.accepted).toBe(0);
      }),
      fuzzParams(200),
    );
  });
});
