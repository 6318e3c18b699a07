/**
 * A finished run's files as `artifact` events: `artifacts.list` polled until it shows as many files
 * as the run announced (OpenClaw lists them only once the transcript is written), then each one
 * downloaded. Failures cost only the files, not the already complete reply.
 */
import type { Logger } from 'pino';

import { sleepMs } from '../../util/sleep.js';
import type { AgentEvent } from '../agent-transport.js';
import type { ArtifactFetcher } from './artifacts.js';
import type { OpenClawWsConnection } from './connection.js';
import type { ArtifactSummary } from './frames.js';
import type { RunTracker } from './run-events.js';

/**
 * How long to keep asking `artifacts.list` for files the run announced: OpenClaw lists them a moment
 * after the `final` event (once the transcript is written; 0.1–0.5 s on the test VM).
 */
const ARTIFACT_SETTLE_MS = 5_000;
/** First pause between two `artifacts.list` calls while waiting; doubles each time. */
const ARTIFACT_POLL_MS = 100;

/** What {@link deliverArtifacts} works with. @internal */
export interface ArtifactDelivery {
  readonly fetcher: ArtifactFetcher;
  readonly connection: OpenClawWsConnection;
  readonly sessionKey: string;
  /** Ends the listing and the downloads (the turn's stop signal). */
  readonly stop: AbortSignal;
  /** True when a failure must end the turn (the caller or the transport is gone), not only the files. */
  readonly isTurnOver: () => boolean;
  readonly log: Logger | undefined;
}

type Listing = Awaited<ReturnType<ArtifactFetcher['list']>>;

/**
 * Yields one `artifact` event per downloaded file of `run`. Listing or download failures are logged
 * and end the delivery early, unless {@link ArtifactDelivery.isTurnOver}: then they are rethrown.
 * @internal
 */
export async function* deliverArtifacts(
  run: RunTracker,
  delivery: ArtifactDelivery,
): AsyncGenerator<AgentEvent> {
  const { log } = delivery;
  let listed: Listing;
  try {
    listed = await listAnnounced(run, delivery);
  } catch (error) {
    if (delivery.isTurnOver()) throw error;
    log?.warn({ err: error }, 'could not list the run artifacts');
    return;
  }
  if (listed.skipped > 0) log?.warn({ skipped: listed.skipped }, 'too many artifacts; the rest are not sent');
  for (const artifact of listed.artifacts) {
    let event: AgentEvent | undefined;
    try {
      event = await download(artifact, delivery);
    } catch (error) {
      if (delivery.isTurnOver()) throw error;
      // The reply is complete; a deadline reached while downloading costs only the rest of the files.
      log?.warn({ err: error }, 'artifact downloads stopped');
      return;
    }
    if (event !== undefined) yield event;
  }
}

/** `artifacts.list`, repeated with growing pauses until it shows what the run announced. */
async function listAnnounced(run: RunTracker, delivery: ArtifactDelivery): Promise<Listing> {
  const { fetcher, connection, sessionKey, stop, log } = delivery;
  let listed = await fetcher.list(connection, sessionKey, run.runId, stop);
  const settleBy = Date.now() + ARTIFACT_SETTLE_MS;
  for (let pauseMs = ARTIFACT_POLL_MS; ; pauseMs *= 2) {
    if (listed.artifacts.length + listed.skipped >= run.announcedMediaCount) break;
    if (Date.now() + pauseMs > settleBy) {
      log?.warn(
        { announced: run.announcedMediaCount, listed: listed.artifacts.length },
        'OpenClaw listed fewer artifacts than the run announced',
      );
      break;
    }
    await sleepMs(pauseMs, stop);
    listed = await fetcher.list(connection, sessionKey, run.runId, stop);
  }
  return listed;
}

/** The `artifact` event of one file, or `undefined` (logged) when it could not be fetched. */
async function download(
  artifact: ArtifactSummary,
  delivery: ArtifactDelivery,
): Promise<AgentEvent | undefined> {
  const result = await delivery.fetcher.download(
    delivery.connection,
    delivery.sessionKey,
    artifact,
    delivery.stop,
  );
  if ('bytes' in result) {
    return {
      type: 'artifact',
      fileName: result.fileName,
      contentType: result.contentType,
      bytes: result.bytes,
    };
  }
  delivery.log?.warn(
    { artifactId: result.artifactId, fileName: result.fileName, reason: result.reason },
    'artifact not downloaded',
  );
  return undefined;
}
