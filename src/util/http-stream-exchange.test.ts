import { describe, expect, it } from 'vitest';

import { loopbackPerTest } from '../../test/helpers/loopback-http.js';

import { StreamedExchange } from './http-stream-exchange.js';

describe('StreamedExchange over loopback', () => {
  const loopback = loopbackPerTest();

  const send = (path = '/') =>
    new StreamedExchange(loopback.agent, {
      origin: loopback.server.origin,
      path,
      method: 'POST',
      body: '{}',
    });

  const readAll = async (request: StreamedExchange): Promise<string> => {
    let text = '';
    for await (const chunk of request) text += chunk.toString('utf8');
    return text;
  };

  it('gives the final head after an informational answer, then the body chunk by chunk', async () => {
    loopback.server.route = (_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 20);
    };
    const request = send();

    const head = await request.head;
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/event-stream');
    expect(await readAll(request)).toBe('data: one\n\ndata: two\n\n');
  });

  it('stops reading from the connection while the reader lags, and resumes when it reads', async () => {
    const totalBytes = 64 * 1024 * 1024;
    let flushedBytes = 0;
    loopback.server.route = (_req, res) => {
      res.writeHead(200);
      const piece = Buffer.alloc(64 * 1024, 'x');
      const writeMore = (): void => {
        while (flushedBytes < totalBytes) {
          flushedBytes += piece.length;
          if (flushedBytes >= totalBytes) {
            res.end(piece);
            return;
          }
          if (!res.write(piece)) {
            res.once('drain', writeMore);
            return;
          }
        }
      };
      writeMore();
    };
    const request = send();
    await request.head;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Unpaused, undici would have taken the whole body into memory by now.
    expect(flushedBytes).toBeLessThan(totalBytes / 2);
    let received = 0;
    for await (const chunk of request) received += chunk.length;
    expect(received).toBe(totalBytes);
  });

  it('hands over the chunks that arrived before the connection broke, then the error', async () => {
    loopback.server.route = (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('data: partial\n\n');
      setTimeout(() => req.socket.destroy(), 50);
    };
    const request = send();
    await request.head;
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(await request.next()).toEqual({ done: false, value: Buffer.from('data: partial\n\n') });
    await expect(request.next()).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('fails the head with the reason of an abort, and a read after it', async () => {
    loopback.server.route = () => undefined; // never answers
    const request = send();
    const reason = new Error('stopped');
    setTimeout(() => request.abort(reason), 30);

    await expect(request.head).rejects.toBe(reason);
    await expect(request.next()).rejects.toBe(reason);
    expect(loopback.server.requestsSeen).toBe(1);
  });

  it('sends nothing when aborted at once, and ignores an abort once the answer ended', async () => {
    const stopped = send();
    stopped.abort(new Error('stopped'));
    await expect(stopped.head).rejects.toThrow('stopped');

    const finished = send();
    await finished.head;
    expect(await readAll(finished)).toBe('');
    finished.abort(new Error('too late'));
    expect(await finished.next()).toEqual({ done: true, value: undefined });
    expect(loopback.server.requestsSeen).toBe(1);
  });

  it('drops the rest of the body when a for-await loop over it stops early', async () => {
    const connection = { isClosed: false };
    loopback.server.route = (req, res) => {
      req.socket.once('close', () => (connection.isClosed = true));
      res.writeHead(200);
      res.write('first');
    };
    const request = send();
    await request.head;
    for await (const chunk of request) {
      expect(chunk.toString('utf8')).toBe('first');
      break;
    }

    for (let i = 0; i < 100 && !connection.isClosed; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(connection.isClosed).toBe(true);
  });
});
