import { findPeerInstall, peerVersion } from './openclaw-peer.js';
import { NODE24_VERSION, OPENCLAW_VERSION } from './openclaw-version.js';

/**
 * Runs once before the contract tests (after test/global-setup.ts compiled the daemon): checks that
 * scripts/openclaw-peer.sh installed the pinned OpenClaw, and prints the version that will run.
 */
export default function setup(): void {
  const install = findPeerInstall();
  const version = peerVersion(install);
  if (!version.includes(OPENCLAW_VERSION))
    throw new Error(`${install.cliPath} reports "${version}", expected OpenClaw ${OPENCLAW_VERSION}`);
  process.stdout.write(
    `\nContract peer: ${version} on node v${NODE24_VERSION} (pinned in test/contract/openclaw-version.ts), from ${install.cacheDir}\n\n`,
  );
}
