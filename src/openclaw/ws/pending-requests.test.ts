import { describe, expect, it } from 'vitest';

import { OpenClawRpcError, OpenClawUnavailableError } from '../../errors.js';
import { PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  it('resolves a request with its payload and forgets it', async () => {
    const pending = new PendingRequests('t');
    const request = pending.open('chat.send', 1_000);

    expect(pending.settle({ type: 'res', id: request.id, ok: true, payload: { runId: 'r' } })).toBe(true);
    await expect(request.answer).resolves.toEqual({ runId: 'r' });
    expect(pending.size).toBe(0);
    expect(pending.settle({ type: 'res', id: request.id, ok: true })).toBe(false);
  });

  it('rejects an error answer with OpenClawRpcError carrying code, detail code and retry hints', async () => {
    const pending = new PendingRequests('t');
    const request = pending.open('sessions.reset', 1_000);
    pending.settle({
      type: 'res',
      id: request.id,
      ok: false,
      error: {
        code: 'FORBIDDEN',
        message: 'missing scope: operator.admin',
        details: { code: 'MISSING_SCOPE' },
        retryable: false,
      },
    });

    const error = await request.answer.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenClawRpcError);
    expect(error).toMatchObject({
      method: 'sessions.reset',
      rpcCode: 'FORBIDDEN',
      detailCode: 'MISSING_SCOPE',
      retryable: false,
    });
  });

  it('gives distinct ids and times out unanswered requests', async () => {
    const pending = new PendingRequests('t');
    const first = pending.open('a', 10);
    const second = pending.open('b', 10_000);

    expect(first.id).not.toBe(second.id);
    await expect(first.answer).rejects.toBeInstanceOf(OpenClawUnavailableError);
    expect(pending.size).toBe(1);
    pending.rejectAll(new Error('closed'));
    await expect(second.answer).rejects.toThrow('closed');
    expect(pending.size).toBe(0);
  });

  it('rejects with the signal reason when aborted, also when already aborted', async () => {
    const pending = new PendingRequests('t');
    const controller = new AbortController();
    const request = pending.open('chat.history', 10_000, controller.signal);
    controller.abort(new Error('stop'));

    await expect(request.answer).rejects.toThrow('stop');
    await expect(pending.open('x', 10_000, controller.signal).answer).rejects.toThrow('stop');
    expect(pending.size).toBe(0);
  });
});
