import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * The end-to-end tests spawn the compiled daemon exactly as the Docker image starts it
 * (`node dist/main.js`), so the sources are compiled once before any test file runs.
 */
export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tscPath = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tscPath, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
