/**
 * A minimal Chrome DevTools Protocol client for a Node.js process started with `--inspect`: the
 * bench's allocation sampler (bench/heap-sample.ts) and tests that read a gateway's live heap.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import WebSocket from 'ws';

export interface InspectorClient {
  /** Sends one protocol command and resolves with its result (rejects with the protocol's error). */
  call(method: string, params?: object): Promise<unknown>;
  close(): void;
}

/** The inspector's WebSocket address on 127.0.0.1:`port`, once the process opened it. */
export async function inspectorUrlOnPort(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
        webSocketDebuggerUrl: string;
      }[];
      const url = targets[0]?.webSocketDebuggerUrl;
      if (url !== undefined) return url;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`no inspector on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** The address Node prints on stderr when its inspector listens (`--inspect=127.0.0.1:0`, say). */
export function inspectorUrlIn(stderr: string): string {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
  if (url === undefined) throw new Error(`no inspector address in the process's stderr: ${stderr}`);
  return url;
}

export async function connectInspector(url: string): Promise<InspectorClient> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let lastId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter === undefined || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error === undefined) waiter.resolve(message.result);
    else waiter.reject(new Error(message.error.message));
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        lastId += 1;
        pending.set(lastId, { resolve, reject });
        socket.send(JSON.stringify({ id: lastId, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Bytes of the process's JS heap still in use after a full garbage collection: its live data. */
export async function liveHeapBytes(inspector: InspectorClient): Promise<number> {
  await inspector.call('HeapProfiler.collectGarbage');
  const { result } = (await inspector.call('Runtime.evaluate', {
    expression: 'process.memoryUsage().heapUsed',
    returnByValue: true,
  })) as { result: { value: number } };
  return result.value;
}
