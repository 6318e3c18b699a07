import { describe, expect, it } from 'vitest';

import { loopbackPerTest } from '../../test/helpers/loopback-http.js';

import { AnswerCutError, exchange } from './http-exchange.js';

describe('exchange over loopback', () => {
  const loopback = loopbackPerTest();

  const post = (
    path: string,
    options: { maxBytes?: number; timeoutMs?: number; signal?: AbortSignal } = {},
  ) =>
    exchange(
      loopback.agent,
      {
        origin: loopback.server.origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      },
      { maxBytes: options.maxBytes ?? 1024, timeoutMs: options.timeoutMs ?? 2_000, ...options },
    );

  const eventually = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(check()).toBe(true);
  };

  it('sends the request and collects the status and the whole body', async () => {
    let received = '';
    loopback.server.route = (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (text: string) => (received += text));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.write('{"errcode":');
        res.end('0}');
      });
    };

    const answer = await post('/send?x=1');

    expect(answer.statusCode).toBe(201);
    expect(answer.bytes.toString('utf8')).toBe('{"errcode":0}');
    expect(answer.isTruncated).toBe(false);
    expect(received).toBe('{"a":1}');
  });

  it('reports the final status after an informational answer', async () => {
    loopback.server.route = (_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.writeHead(200).end('ok');
    };

    const answer = await post('/hints');

    expect(answer.statusCode).toBe(200);
    expect(answer.bytes.toString('utf8')).toBe('ok');
  });

  it('keeps at most maxBytes of a longer body, marks it truncated and drops the connection', async () => {
    loopback.server.route = (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(600, 'a'));
      setTimeout(() => res.write(Buffer.alloc(600, 'b')), 20);
    };

    const answer = await post('/long', { maxBytes: 1_000 });

    expect(answer.isTruncated).toBe(true);
    expect(answer.bytes.toString('utf8')).toBe('a'.repeat(600));
    await eventually(() => loopback.server.requestsCut === 1);
  });

  it('fails with a TimeoutError at the deadline and drops the request', async () => {
    loopback.server.route = () => undefined; // never answers
    const startedAtMs = Date.now();

    const error = await post('/silent', { timeoutMs: 100 }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(Date.now() - startedAtMs).toBeLessThan(1_500);
    await eventually(() => loopback.server.requestsCut === 1);
  });

  it("fails with the caller's reason when the signal aborts, and drops the request", async () => {
    loopback.server.route = () => undefined;
    const controller = new AbortController();
    const reason = new Error('turn stopped');
    setTimeout(() => controller.abort(reason), 50);

    await expect(post('/silent', { signal: controller.signal })).rejects.toBe(reason);
    await eventually(() => loopback.server.requestsCut === 1);
  });

  it('sends nothing for a signal already aborted', async () => {
    const reason = new Error('already stopped');

    await expect(post('/x', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(loopback.server.requestsSeen).toBe(0);
  });

  it('fails with AnswerCutError when the answer breaks off, even after an informational one only, and with the transport error when no answer came', async () => {
    loopback.server.route = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const cut = await post('/cut').catch((caught: unknown) => caught);
    expect(cut).toBeInstanceOf(AnswerCutError);

    loopback.server.route = (req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' }, () => req.socket.destroy());
    };
    const cutAfterHints = await post('/hints-only').catch((caught: unknown) => caught);
    expect(cutAfterHints).toBeInstanceOf(AnswerCutError);

    loopback.server.route = (req) => req.socket.destroy();
    const lost = await post('/lost').catch((caught: unknown) => caught);
    expect(lost).not.toBeInstanceOf(AnswerCutError);
    expect((lost as { code?: unknown }).code).toBe('UND_ERR_SOCKET');
  });

  it('fails with the connect error when nothing listens', async () => {
    const error = await exchange(
      loopback.agent,
      { origin: 'http://127.0.0.1:9', path: '/', method: 'GET' },
      { maxBytes: 10, timeoutMs: 2_000 },
    ).catch((caught: unknown) => caught);

    expect((error as { code?: unknown }).code).toBe('ECONNREFUSED');
  });
});
