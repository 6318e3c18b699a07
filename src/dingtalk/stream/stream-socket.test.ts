import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import { StreamSocket, type StreamSocketListener } from './stream-socket.js';

interface ServerSide {
  readonly url: string;
  /** Text frames the server received, in order. */
  readonly frames: string[];
  /** How many reads the server's TCP socket delivered after the handshake. */
  readonly reads: () => number;
  readonly connected: Promise<void>;
  close(): Promise<void>;
}

async function startServer(): Promise<ServerSide> {
  const frames: string[] = [];
  let reads = 0;
  let onConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws, request) => {
    request.socket.on('data', () => {
      reads += 1;
    });
    ws.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
    onConnected();
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    frames,
    reads: () => reads,
    connected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

const quietListener: StreamSocketListener = {
  onOpen: () => undefined,
  onText: () => undefined,
  onLost: () => undefined,
};

async function openSocket(url: string): Promise<StreamSocket> {
  return new Promise((resolve) => {
    new StreamSocket({
      url,
      handshakeTimeoutMs: 2_000,
      heartbeatIntervalMs: 60_000,
      heartbeatTimeoutMs: 120_000,
      listener: { ...quietListener, onOpen: (opened) => resolve(opened) },
    });
  });
}

async function until(condition: () => boolean): Promise<void> {
  const deadlineMs = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadlineMs) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A server and a socket connected to it, both closed after the test. */
async function connectedPair(): Promise<{ server: ServerSide; socket: StreamSocket }> {
  const server = await startServer();
  cleanups.push(() => server.close());
  const socket = await openSocket(server.url);
  cleanups.push(() => socket.close());
  await server.connected;
  return { server, socket };
}

describe('StreamSocket send', () => {
  it('writes the frames sent in one tick together, in order', async () => {
    const { server, socket } = await connectedPair();
    const readsBefore = server.reads();

    const sent = Array.from({ length: 20 }, (_, i) => `{"ack":${i}}`);
    for (const frame of sent) expect(socket.send(frame)).toBe(true);

    await until(() => server.frames.length === sent.length);
    expect(server.frames).toEqual(sent);
    // One write for the twenty frames: the socket was corked until the next tick.
    expect(server.reads() - readsBefore).toBe(1);
  });

  it('lets frames sent in later ticks out too (the cork is released each tick)', async () => {
    const { server, socket } = await connectedPair();

    for (let i = 0; i < 5; i += 1) {
      expect(socket.send(`{"tick":${i}}`)).toBe(true);
      await until(() => server.frames.length === i + 1);
    }
    expect(server.frames).toEqual(Array.from({ length: 5 }, (_, i) => `{"tick":${i}}`));
  });

  it('lets the frames sent in this tick out before terminate() drops the connection', async () => {
    const { server, socket } = await connectedPair();

    expect(socket.send('{"ack":"last"}')).toBe(true);
    socket.terminate();

    await until(() => server.frames.length === 1);
    expect(server.frames).toEqual(['{"ack":"last"}']);
    await socket.closed;
  });

  it('refuses to send once the socket is closed', async () => {
    const { socket } = await connectedPair();
    await socket.close();
    expect(socket.send('{"late":true}')).toBe(false);
    expect(socket.isOpen).toBe(false);
  });
});
