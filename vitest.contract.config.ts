import { defineConfig } from 'vitest/config';

/**
 * Contract tests: the compiled daemon against the real OpenClaw gateway (`npm run test:openclaw`,
 * which runs scripts/openclaw-peer.sh first). Their files end in `.contract.ts`, so the default
 * `npm test` (`*.test.ts`) never runs them. One OpenClaw instance takes about 1 GB of memory and its
 * first agent turn 10–30 s, hence one file at a time and long timeouts.
 */
export default defineConfig({
  test: {
    include: ['test/contract/**/*.contract.ts'],
    globalSetup: ['test/global-setup.ts', 'test/contract/global-setup.ts'],
    fileParallelism: false,
    restoreMocks: true,
    unstubGlobals: true,
    unstubEnvs: true,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
