import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'build.mjs');

/**
 * The end-to-end tests spawn the built daemon exactly as the Docker image starts it
 * (`node dist/main.js`), so the bundle is built once before any test file runs (type checking is
 * `npm run typecheck`'s job).
 */
export default function setup(): void {
  execFileSync(process.execPath, [BUILD_SCRIPT], { stdio: 'inherit' });
}
