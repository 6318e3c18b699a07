/**
 * Confines agent-named local files to configured media roots before anything reads them. The agent
 * runs elsewhere and its text is untrusted: `/etc/passwd`, `../` and symlink escapes must all fail.
 */

import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';

/** Outcome of {@link resolveMediaPath}. */
export type MediaPathResult =
  | {
      readonly ok: true;
      /** The target with every symlink resolved; read this path, not the one the agent wrote. */
      readonly realPath: string;
      readonly sizeBytes: number;
    }
  | { readonly ok: false; readonly reason: MediaPathRefusal };

/**
 * Why a path was refused. `outside-roots` also covers relative paths and anything that does not
 * exist outside the roots (so the answer does not reveal which files exist there).
 */
export type MediaPathRefusal = 'outside-roots' | 'not-found' | 'not-a-file' | 'too-large' | 'no-roots';

/**
 * Resolves a local attachment path and checks it against the media roots.
 *
 * - Only absolute paths are accepted; relative and `~` paths are refused as `outside-roots`.
 * - The roots and the target are both `realpath()`ed, so symlinks are followed before comparing:
 *   a symlink inside a root pointing outside is refused, a root that is itself a symlink works.
 * - Containment is by whole path segments (`/data/media2` is not inside `/data/media`).
 * - The target must be a regular file of at most `maxBytes` bytes.
 *
 * Roots that are relative or do not exist are ignored; when none is left the result is `no-roots`. The file is
 * never opened (only `realpath` and `stat`). It may still change before the caller reads it, so the
 * caller should read `realPath` and enforce `maxBytes` while reading. Never rejects.
 */
export async function resolveMediaPath(
  path: string,
  roots: readonly string[],
  maxBytes: number,
): Promise<MediaPathResult> {
  const absoluteRoots = roots.filter(isAbsolute);
  const realRoots = (await Promise.all(absoluteRoots.map(realpathOrUndefined))).filter(
    (root) => root !== undefined,
  );
  if (realRoots.length === 0) return { ok: false, reason: 'no-roots' };
  if (!isAbsolute(path) || path.includes('\0')) return { ok: false, reason: 'outside-roots' };

  const realPath = await realpathOrUndefined(path);
  if (realPath === undefined) {
    // Say "not found" only where the agent may look; elsewhere the answer stays "outside".
    const lexical = resolve(path);
    const allRoots = [...realRoots, ...absoluteRoots.map((root) => resolve(root))];
    return {
      ok: false,
      reason: allRoots.some((root) => isInside(lexical, root)) ? 'not-found' : 'outside-roots',
    };
  }
  if (!realRoots.some((root) => isInside(realPath, root))) return { ok: false, reason: 'outside-roots' };

  const stats = await stat(realPath).catch(() => undefined);
  if (stats === undefined) return { ok: false, reason: 'not-found' };
  if (!stats.isFile()) return { ok: false, reason: 'not-a-file' };
  if (stats.size > maxBytes) return { ok: false, reason: 'too-large' };
  return { ok: true, realPath, sizeBytes: stats.size };
}

function isInside(path: string, root: string): boolean {
  if (path === root) return true;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function realpathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    // ENOENT, ENOTDIR, ELOOP, EACCES: all mean "cannot be used", which the caller words.
    return undefined;
  }
}
