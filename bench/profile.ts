/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, inclusive time of
 * the gateway's own functions, and time per package. Each sample is charged the time since the
 * previous one, so a main thread blocked in a synchronous native call (an fsync inside SQLite) shows
 * up on that call. Frames in a bundle (the gateway's dist/main.js) are traced back through its source
 * map to the file they came from (src/…, or a package in node_modules).
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ms } from './report-format.js';

/** A V8 call frame (CPU and sampling heap profiles alike). */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly key: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly topSelf: readonly ProfileEntry[];
  /** Inclusive time of functions in the gateway's own code. */
  readonly topOwnInclusive: readonly ProfileEntry[];
  readonly byPackage: readonly ProfileEntry[];
}

/** The gateway's own code: compiled modules in dist/, or src/ once traced back through a source map. */
function isOwnCode(url: string): boolean {
  return !url.includes('/node_modules/') && (url.includes('/dist/') || url.includes('/src/'));
}

/**
 * Traces frames of bundled scripts back to their original file and line through the script's linked
 * source map (`<script>.map`); frames without one are returned as they are.
 */
export class FrameResolver {
  readonly #maps = new Map<string, { map: SourceMap; dir: string } | undefined>();

  resolve(frame: CallFrame): CallFrame {
    if (!frame.url.startsWith('file://') || frame.lineNumber < 0) return frame;
    const source = this.#mapOf(frame.url);
    if (source === undefined) return frame;
    const entry = source.map.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
    if (!('originalSource' in entry)) return frame;
    return {
      functionName: frame.functionName,
      url: `file://${resolve(source.dir, entry.originalSource)}`,
      lineNumber: entry.originalLine,
    };
  }

  #mapOf(url: string): { map: SourceMap; dir: string } | undefined {
    if (this.#maps.has(url)) return this.#maps.get(url);
    const path = fileURLToPath(url);
    const mapPath = `${path}.map`;
    const source = existsSync(mapPath)
      ? {
          map: new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')) as SourceMapPayload),
          dir: dirname(path),
        }
      : undefined;
    this.#maps.set(url, source);
    return source;
  }
}

function shortUrl(url: string): string {
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules !== -1) return url.slice(nodeModules + 1);
  const own = Math.max(url.lastIndexOf('/dist/'), url.lastIndexOf('/src/'));
  if (own !== -1) return url.slice(own + 1);
  return url.replace(/^file:\/\//, '');
}

/** `function path:line` of a frame, the path from `node_modules/`, `dist/` or `src/` on. */
export function keyOf(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** The npm package of a frame, or the gateway's own code, node core, V8. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '')
    return functionName.startsWith('(') ? functionName : '(V8 builtins and natives: JSON, RegExp, ...)';
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (match?.[1] !== undefined) return match[1];
  if (url.startsWith('node:')) return 'node: core';
  if (isOwnCode(url)) return 'gateway (own code)';
  return 'other';
}

function top(map: ReadonlyMap<string, number>, totalMs: number, count: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, value]) => ({ key, ms: value, share: value / totalMs }));
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

export function summariseProfile(path: string, count = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  const frames = new FrameResolver();
  for (const original of profile.nodes) {
    const node = { ...original, callFrame: frames.resolve(original.callFrame) };
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const ownInclusive = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const deltaMs = (profile.timeDeltas[index] ?? 0) / 1000;
    const node = byId.get(id);
    if (node === undefined) return;
    totalMs += deltaMs;
    if (node.callFrame.functionName === '(idle)') idleMs += deltaMs;
    add(self, keyOf(node.callFrame), deltaMs);
    add(byPackage, packageOf(node.callFrame), deltaMs);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || !isOwnCode(frame.url)) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      add(ownInclusive, key, deltaMs);
    }
  });
  return {
    totalMs,
    idleMs,
    topSelf: top(self, totalMs, count),
    topOwnInclusive: top(ownInclusive, totalMs, count),
    byPackage: top(byPackage, totalMs, 15),
  };
}

function entries(title: string, list: readonly ProfileEntry[]): string {
  const rows = list.map(
    (e) => `| ${e.key.replaceAll('|', '\\|')} | ${ms(e.ms)} | ${(e.share * 100).toFixed(1)} % |`,
  );
  return [`**${title}**`, '', '| function / package | ms | share |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
}

export function profileReport(label: string, path: string, summary: ProfileSummary): string {
  return [
    `#### ${label}`,
    '',
    `profile: \`${path}\`; ${ms(summary.totalMs)} ms sampled, ${((summary.idleMs / summary.totalMs) * 100).toFixed(1)} % idle`,
    '',
    entries('time per package (leaf frame)', summary.byPackage),
    '',
    entries('top self time', summary.topSelf),
    '',
    entries("inclusive time of the gateway's own functions", summary.topOwnInclusive),
  ].join('\n');
}
