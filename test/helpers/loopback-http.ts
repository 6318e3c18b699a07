// A plain HTTP server on 127.0.0.1 for client tests: each case sets how it answers, and it counts
// the requests it saw and how many of their connections have closed since.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Agent } from 'undici';
import { afterEach, beforeEach } from 'vitest';

export type LoopbackRoute = (req: IncomingMessage, res: ServerResponse) => void;

export class LoopbackHttpServer {
  /** How the next requests are answered; an empty 200 until a test sets it. */
  route: LoopbackRoute = (_req, res) => res.end();
  requestsSeen = 0;
  /** Requests whose connection has closed since (a client may open a spare connection meanwhile). */
  requestsCut = 0;
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((req, res) => {
      this.requestsSeen += 1;
      req.socket.once('close', () => (this.requestsCut += 1));
      this.route(req, res);
    });
  }

  static async start(): Promise<LoopbackHttpServer> {
    const started = new LoopbackHttpServer();
    await new Promise<void>((resolve) => started.#server.listen(0, '127.0.0.1', resolve));
    return started;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A fresh {@link LoopbackHttpServer} and undici agent for each test of the calling `describe`. */
export function loopbackPerTest(): { readonly server: LoopbackHttpServer; readonly agent: Agent } {
  let current: { server: LoopbackHttpServer; agent: Agent } | undefined;
  beforeEach(async () => {
    current = { server: await LoopbackHttpServer.start(), agent: new Agent() };
  });
  afterEach(async () => {
    await current?.agent.destroy();
    await current?.server.close();
    current = undefined;
  });
  const get = () => {
    if (current === undefined) throw new Error('loopbackPerTest() is only usable inside a test');
    return current;
  };
  return {
    get server() {
      return get().server;
    },
    get agent() {
      return get().agent;
    },
  };
}
