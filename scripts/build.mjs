/**
 * Builds the daemon into one file, dist/main.js (plus its source map), from src/main.ts.
 *
 * One bundle instead of a tree of compiled modules: the process starts faster (no module graph to
 * resolve and link), holds less source text, and spends less CPU per message (BENCHMARKS.md, fix 17).
 * Whitespace and syntax are minified but names are kept, so stack traces still name the functions.
 * Type checking is not done here: `npm run build` runs `tsc` first.
 *
 * Left outside the bundle, loaded from node_modules at run time: better-sqlite3 (a native addon),
 * and ioredis and pino-pretty, which are loaded only when used (a Redis store, a terminal).
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repoRoot, 'dist');

/** Node versions the bundle must run on (package.json `engines`). */
const NODE_TARGETS = ['node20', 'node22'];

/** Packages required at run time rather than bundled. */
const EXTERNAL_PACKAGES = ['better-sqlite3', 'ioredis', 'pino-pretty'];

// Bundled CommonJS packages call `require` for Node's own modules; an ES module has none of its own.
const REQUIRE_SHIM =
  "import { createRequire as createRequireForBundle } from 'node:module';\n" +
  'const require = createRequireForBundle(import.meta.url);';

rmSync(outDir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: repoRoot,
  entryPoints: ['src/main.ts'],
  outfile: join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: NODE_TARGETS,
  external: EXTERNAL_PACKAGES,
  banner: { js: REQUIRE_SHIM },
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
assertAscii(join(outDir, 'main.js'));
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`built dist/main.js (${(bytes / 1024 / 1024).toFixed(1)} MiB with its source map)`);

/**
 * V8 keeps the bundle's source text for as long as the process runs. One character beyond Latin-1
 * (Chinese, say: esbuild escapes such characters in strings, not in regular expression literals)
 * makes all of it a two-byte string: about 3 MiB more memory. The rule checked is the simple one,
 * ASCII only; write any other character as a `\u` escape in `src/`.
 */
function assertAscii(path) {
  const text = readFileSync(path, 'utf8');
  const at = text.search(/[\u0080-\u{10ffff}]/u);
  if (at === -1) return;
  const line = text.slice(0, at).split('\n').length;
  const context = text.slice(Math.max(0, at - 60), at + 20);
  throw new Error(
    `${path}: a non-ASCII character at line ${line} (${JSON.stringify(context)}); ` +
      'write it as a \\u escape in the source: a non-ASCII bundle takes twice the memory',
  );
}
