/**
 * The OpenClaw release the contract tests run against, and the Node it needs (OpenClaw refuses Node
 * 20; the `node-linux-*` npm packages ship the official binary). The one place these versions are
 * written: scripts/openclaw-peer.sh reads them from this file with sed, so keep each on one line as
 * `export const NAME = '<version>';`.
 */
export const OPENCLAW_VERSION = '2026.9.6';
export const NODE24_VERSION = '24.21.0';
