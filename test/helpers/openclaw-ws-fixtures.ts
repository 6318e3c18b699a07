/**
 * Reads the frames captured from the real OpenClaw gateway (test/fixtures/openclaw-ws, see its
 * README) for tests that replay them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { EventFrame } from '../../src/openclaw/ws/frames.js';

/** One captured frame. */
export interface CapturedFrame {
  readonly dir: 'in' | 'out';
  readonly atMs: number;
  readonly frame: Record<string, unknown>;
}

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/openclaw-ws/', import.meta.url));

/** The parsed JSON of `test/fixtures/openclaw-ws/<name>.json`. */
export function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(`${FIXTURE_DIR}${name}.json`, 'utf8')) as unknown;
}

/** The frame list of a fixture (its `frames`, or the list under `part` for composite files). */
export function fixtureFrames(name: string, part?: string): CapturedFrame[] {
  const data = loadFixture(name);
  if (Array.isArray(data)) return data as CapturedFrame[];
  const record = data as Record<string, unknown>;
  return (record[part ?? 'frames'] ?? []) as CapturedFrame[];
}

/** The `runId` of the first `chat.send` answer in `frames`, else of the first `chat` event (an observer). */
export function firstRunId(frames: readonly CapturedFrame[]): string {
  for (const { frame } of frames) {
    const payload = frame['payload'] as Record<string, unknown> | undefined;
    if (frame['type'] === 'res' && typeof payload?.['runId'] === 'string') return payload['runId'];
  }
  for (const { frame } of frames) {
    const payload = frame['payload'] as Record<string, unknown> | undefined;
    if (frame['event'] === 'chat' && typeof payload?.['runId'] === 'string') return payload['runId'];
  }
  throw new Error('no run in the fixture');
}

/** The received `chat` and `agent` event frames of one run, in order. */
export function runEvents(frames: readonly CapturedFrame[], runId: string): EventFrame[] {
  return frames
    .filter((entry) => entry.dir === 'in' && entry.frame['type'] === 'event')
    .map((entry) => EventFrame.parse(entry.frame))
    .filter((frame) => {
      const payload = frame.payload as Record<string, unknown> | undefined;
      return (frame.event === 'chat' || frame.event === 'agent') && payload?.['runId'] === runId;
    });
}

/** `connect` params of an operator client as the gateway sends them (backend mode, protocol 4). */
export function operatorConnectParams(
  token: string,
  scopes: readonly string[],
  caps: readonly string[],
): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: {
      id: 'gateway-client',
      version: '0.1.0',
      platform: 'linux',
      mode: 'backend',
      displayName: 'openclaw-dingtalk-gateway',
    },
    role: 'operator',
    scopes,
    caps,
    auth: { token },
    locale: 'zh-CN',
    userAgent: 'openclaw-dingtalk-gateway/0.1.0',
  };
}
