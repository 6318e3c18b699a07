import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  FAKE_OPENCLAW_WS_TOKEN,
  FakeOpenClawWs,
  type FakeOpenClawWsOptions,
} from '../../../test/fakes/fake-openclaw-ws.js';
import { OpenClawRpcError, OpenClawUnavailableError } from '../../errors.js';
import { OpenClawWsConnection, type OpenClawWsConnectionOptions } from './connection.js';
import { ChatHistoryResult } from './frames.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  fakeOptions: FakeOpenClawWsOptions = {},
  overrides: Partial<OpenClawWsConnectionOptions> = {},
): Promise<{ fake: FakeOpenClawWs; connection: OpenClawWsConnection }> {
  const fake = await FakeOpenClawWs.start(fakeOptions);
  cleanups.push(() => fake.close());
  const connection = new OpenClawWsConnection({
    url: fake.wsUrl,
    token: FAKE_OPENCLAW_WS_TOKEN,
    scopes: ['operator.read', 'operator.write'],
    caps: [],
    client: { version: '0.0.0-test', displayName: 'test', platform: 'linux' },
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 1_000,
    reconnectPolicy: { initialDelayMs: 40, maxDelayMs: 1_000, factor: 2, jitterRatio: 0 },
    ...overrides,
  });
  cleanups.push(() => connection.close());
  return { fake, connection };
}

describe('OpenClawWsConnection', () => {
  it('does nothing until asked, then shares one handshake between concurrent callers', async () => {
    const { fake, connection } = await setup();

    expect(connection.state).toBe('idle');
    expect(fake.requestsOf('connect')).toHaveLength(0);
    await Promise.all([connection.ready(), connection.ready(), connection.ready()]);

    expect(connection.state).toBe('open');
    expect(fake.requestsOf('connect')).toHaveLength(1);
    expect(connection.grantedScopes).toEqual(['operator.read', 'operator.write']);
    expect(connection.attachmentLimits).toEqual({ maxBytes: 19_464_192, maxImageBytes: 6_291_456 });
  });

  it('backs off longer after each failed reconnect (the Nth delay, not only the first)', async () => {
    const { fake, connection } = await setup({ refuseStartingConnects: 4 });

    await expect(connection.ready()).rejects.toBeInstanceOf(OpenClawUnavailableError);
    await fake.waitFor(() => (connection.state === 'open' ? true : undefined), 5_000);

    const times = fake.requestsOf('connect').map((request) => request.atMs);
    expect(times).toHaveLength(5);
    const gaps = times.slice(1).map((time, index) => time - (times[index] ?? 0));
    // initialDelayMs 40 doubling, but never less than the gateway's retryAfterMs (50).
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(gaps[3]).toBeGreaterThanOrEqual(315);
  });

  it('reconnects after the socket drops, telling listeners, and rejects requests in flight', async () => {
    const { fake, connection } = await setup();
    const seen: string[] = [];
    connection.subscribe({
      onOpen: (generation) => seen.push(`open ${generation}`),
      onLost: () => seen.push('lost'),
    });
    await connection.ready();
    fake.onSend(() => ({ hang: true }));
    await connection.request(
      'chat.send',
      { sessionKey: 'k', message: 'm', idempotencyKey: 'run-1' },
      z.unknown(),
    );

    const pending = connection.request('agent.wait', { runId: 'run-1', timeoutMs: 5_000 }, z.unknown());
    await fake.waitFor(() => fake.requestsOf('agent.wait')[0]);
    fake.dropConnections();

    await expect(pending).rejects.toBeInstanceOf(OpenClawUnavailableError);
    await fake.waitFor(() => (connection.state === 'open' && connection.generation === 2 ? true : undefined));
    expect(seen).toEqual(['open 1', 'lost', 'open 2']);
  });

  it('keeps serving when a listener throws', async () => {
    const { fake, connection } = await setup({ tickIntervalMs: 30 });
    let ticks = 0;
    connection.subscribe({
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    connection.subscribe({
      onEvent: (event) => {
        if (event.event === 'tick') ticks += 1;
      },
    });
    await connection.ready();

    await fake.waitFor(() => (ticks >= 2 ? true : undefined));
    await expect(
      connection.request('chat.history', { sessionKey: 'k' }, ChatHistoryResult),
    ).resolves.toMatchObject({
      messages: [],
    });
  });

  it('refuses requests when not open, answers that fail the schema, and frames over the size limit', async () => {
    const { connection } = await setup();

    await expect(connection.request('chat.history', {}, ChatHistoryResult)).rejects.toBeInstanceOf(
      OpenClawUnavailableError,
    );
    await connection.ready();
    await expect(
      connection.request('chat.history', { sessionKey: 'k' }, z.object({ missing: z.string() })),
    ).rejects.toMatchObject({ rpcCode: 'MALFORMED_RESPONSE' });
    const huge = 'x'.repeat(26_214_400);
    const error = await connection
      .request('chat.send', { message: huge }, z.unknown())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenClawRpcError);
    expect(error).toMatchObject({ rpcCode: 'PAYLOAD_TOO_LARGE' });
  });

  it('close() stops a pending reconnect and leaves no socket open', async () => {
    const { fake, connection } = await setup(
      {},
      {
        reconnectPolicy: { initialDelayMs: 300, maxDelayMs: 300, factor: 1, jitterRatio: 0 },
      },
    );
    await connection.ready();
    fake.dropConnections();
    await fake.waitFor(() => (connection.state === 'waiting' ? true : undefined));

    await connection.close();
    await new Promise((resolve) => setTimeout(resolve, 400));

    expect(connection.state).toBe('closed');
    expect(fake.requestsOf('connect')).toHaveLength(1);
    expect(fake.openConnections).toBe(0);
    await expect(connection.ready()).rejects.toBeInstanceOf(OpenClawUnavailableError);
  });
});
