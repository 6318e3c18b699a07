import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseMediaSource } from './media-source.js';
import { resolveMediaPath } from './path-guard.js';

const MAX_BYTES = 1000;

describe('resolveMediaPath', () => {
  let base = '';
  let root = '';
  let outside = '';

  beforeAll(async () => {
    // realpath: on some systems the temp dir itself sits behind a symlink (/tmp → /private/tmp).
    base = await realpath(await mkdtemp(join(tmpdir(), 'media-guard-')));
    root = join(base, 'media');
    outside = join(base, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    await mkdir(join(base, 'media2'));
    await writeFile(join(root, 'a.png'), 'png bytes');
    await writeFile(join(root, 'sub', '报告 2024.pdf'), 'pdf');
    await writeFile(join(root, '中文.png'), 'x');
    await writeFile(join(root, 'a%20b.png'), 'literal percent');
    await writeFile(join(root, 'big.bin'), Buffer.alloc(MAX_BYTES + 1));
    await writeFile(join(root, 'exact.bin'), Buffer.alloc(MAX_BYTES));
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await writeFile(join(base, 'media2', 'x.png'), 'sibling');
    await symlink(join(outside, 'secret.txt'), join(root, 'escape.png'));
    await symlink(outside, join(root, 'linked-dir'));
    await symlink(join(root, 'a.png'), join(root, 'alias.png'));
    await symlink(join(root, 'missing.png'), join(root, 'dangling.png'));
    await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
    await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
    await symlink(root, join(base, 'media-link'));
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('accepts a regular file inside a root and reports its real path and size', async () => {
    await expect(resolveMediaPath(join(root, 'a.png'), [root], MAX_BYTES)).resolves.toEqual({
      ok: true,
      realPath: join(root, 'a.png'),
      sizeBytes: 9,
    });
  });

  it.each([
    ['a unicode name with a space', ['sub', '报告 2024.pdf']],
    ['a name with a literal %20 (no decoding here)', ['a%20b.png']],
    ['exactly maxBytes', ['exact.bin']],
    ['a redundant ./ and sub/..', ['.', 'sub', '..', 'a.png']],
  ])('accepts %s', async (_name, segments) => {
    await expect(resolveMediaPath(join(root, ...segments), [root], MAX_BYTES)).resolves.toMatchObject({
      ok: true,
    });
  });

  it('finds a file named by a percent-encoded tag path once decoded', async () => {
    const source = parseMediaSource(`file://${root}/%E4%B8%AD%E6%96%87.png`);
    const path = source?.type === 'path' ? source.path : '';
    await expect(resolveMediaPath(path, [root], MAX_BYTES)).resolves.toMatchObject({
      ok: true,
      realPath: join(root, '中文.png'),
    });
  });

  it('follows a symlink that stays inside the roots to its target', async () => {
    await expect(resolveMediaPath(join(root, 'alias.png'), [root], MAX_BYTES)).resolves.toMatchObject({
      ok: true,
      realPath: join(root, 'a.png'),
    });
  });

  it('accepts paths through a root that is itself a symlink, and reports the real path', async () => {
    const linkedRoot = join(base, 'media-link');
    await expect(resolveMediaPath(join(linkedRoot, 'a.png'), [linkedRoot], MAX_BYTES)).resolves.toEqual({
      ok: true,
      realPath: join(root, 'a.png'),
      sizeBytes: 9,
    });
    await expect(resolveMediaPath(join(root, 'a.png'), [linkedRoot], MAX_BYTES)).resolves.toMatchObject({
      ok: true,
    });
    await expect(
      resolveMediaPath(join(linkedRoot, '..', 'outside', 'secret.txt'), [linkedRoot], MAX_BYTES),
    ).resolves.toEqual({ ok: false, reason: 'outside-roots' });
  });

  it.each([
    ['an absolute path elsewhere', (): string => join(outside, 'secret.txt')],
    ['a .. escape', (): string => join(root, '..', 'outside', 'secret.txt')],
    ['a symlinked file pointing outside', (): string => join(root, 'escape.png')],
    [
      'a file under a symlinked directory pointing outside',
      (): string => join(root, 'linked-dir', 'secret.txt'),
    ],
    ['a sibling whose name extends the root', (): string => join(base, 'media2', 'x.png')],
    ['a missing file outside (no existence oracle)', (): string => join(outside, 'nope.png')],
    ['a relative path', (): string => 'media/a.png'],
    ['a home path', (): string => '~/a.png'],
    ['a NUL byte', (): string => join(root, 'a.png\0.txt')],
    ['the filesystem root', (): string => '/'],
  ])('refuses %s as outside-roots', async (_name, path) => {
    await expect(resolveMediaPath(path(), [root], MAX_BYTES)).resolves.toEqual({
      ok: false,
      reason: 'outside-roots',
    });
  });

  it.each([
    ['a missing file', ['missing.png'], 'not-found'],
    ['a dangling symlink', ['dangling.png'], 'not-found'],
    ['a symlink loop', ['loop-a'], 'not-found'],
    ['a path through a file', ['a.png', 'x'], 'not-found'],
    ['a directory', ['sub'], 'not-a-file'],
    ['the root itself', [], 'not-a-file'],
    ['a file over maxBytes', ['big.bin'], 'too-large'],
  ])('refuses %s', async (_name, segments, reason) => {
    await expect(resolveMediaPath(join(root, ...segments), [root], MAX_BYTES)).resolves.toEqual({
      ok: false,
      reason,
    });
  });

  it('checks every root and ignores relative or missing ones', async () => {
    const roots = ['media', join(base, 'does-not-exist'), outside, root];
    await expect(resolveMediaPath(join(root, 'a.png'), roots, MAX_BYTES)).resolves.toMatchObject({
      ok: true,
    });
    await expect(resolveMediaPath(join(outside, 'secret.txt'), roots, MAX_BYTES)).resolves.toMatchObject({
      ok: true,
    });
  });

  it.each([
    ['no roots', []],
    ['only missing or relative roots', ['media', '/definitely/not/here']],
  ])('refuses everything with %s', async (_name, roots) => {
    await expect(resolveMediaPath(join(root, 'a.png'), roots, MAX_BYTES)).resolves.toEqual({
      ok: false,
      reason: 'no-roots',
    });
  });

  it('treats "/" as a root containing everything', async () => {
    await expect(resolveMediaPath(join(root, 'a.png'), ['/'], MAX_BYTES)).resolves.toMatchObject({
      ok: true,
    });
  });
});
