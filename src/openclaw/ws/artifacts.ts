/**
 * Files a run produced, fetched after its `final` event (shared/reference/openclaw-api.md §5.4.3,
 * test/fixtures/openclaw-ws/turn-media-artifacts.json): `artifacts.list` for the run, then per
 * artifact `artifacts.download`, which gives either the bytes inline (base64) or a short-lived
 * gateway-relative URL with a media ticket that a plain HTTP GET on the gateway's origin redeems.
 */
import { Agent, request } from 'undici';

import { describeCause, OpenClawRpcError } from '../../errors.js';
import { discardBody } from '../../util/discard-body.js';
import { readBodyCapped } from '../../util/http-body.js';
import type { OpenClawWsConnection } from './connection.js';
import { ArtifactsDownloadResult, ArtifactsListResult, type ArtifactSummary } from './frames.js';

/** Most artifacts fetched per run; more are skipped (and logged by the caller). */
export const MAX_ARTIFACTS_PER_RUN = 16;

/** One downloaded artifact. */
export interface DownloadedArtifact {
  readonly fileName: string;
  readonly contentType: string | undefined;
  readonly bytes: Buffer;
}

/** An artifact that could not be fetched, and why (never includes the ticket URL). */
export interface ArtifactFailure {
  readonly artifactId: string;
  readonly fileName: string;
  readonly reason: string;
}

/** Options of {@link ArtifactFetcher}. */
export interface ArtifactFetcherOptions {
  /** The gateway's HTTP origin (the download URLs are relative to it). */
  readonly httpBaseUrl: string;
  /** Largest artifact accepted, in bytes. */
  readonly maxBytes: number;
  /** Deadline of one download (connect, headers and body). */
  readonly timeoutMs: number;
}

/** Lists and downloads run artifacts. Owns one undici `Agent`; `close()` it. */
export class ArtifactFetcher {
  readonly #options: ArtifactFetcherOptions;
  readonly #agent: Agent;

  constructor(options: ArtifactFetcherOptions) {
    this.#options = options;
    this.#agent = new Agent({
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /** The run's artifacts (assistant messages only), at most {@link MAX_ARTIFACTS_PER_RUN}. */
  async list(
    connection: OpenClawWsConnection,
    sessionKey: string,
    runId: string,
    signal: AbortSignal,
  ): Promise<{ artifacts: ArtifactSummary[]; skipped: number }> {
    const result = await connection.request(
      'artifacts.list',
      { sessionKey, runId, messageRole: 'assistant' },
      ArtifactsListResult,
      { signal },
    );
    // The list is filtered by run already; a foreign entry would be a gateway bug, not ours to send.
    const artifacts = result.artifacts.filter(
      (artifact) => artifact.runId === undefined || artifact.runId === runId,
    );
    return {
      artifacts: artifacts.slice(0, MAX_ARTIFACTS_PER_RUN),
      skipped: Math.max(0, artifacts.length - MAX_ARTIFACTS_PER_RUN),
    };
  }

  /**
   * Downloads one artifact: `artifacts.download`, then the bytes inline or by GET. An expired or
   * refused ticket is asked for once more. Returns an {@link ArtifactFailure} instead of throwing for
   * anything but the signal.
   */
  async download(
    connection: OpenClawWsConnection,
    sessionKey: string,
    artifact: ArtifactSummary,
    signal: AbortSignal,
  ): Promise<DownloadedArtifact | ArtifactFailure> {
    const fileName = artifact.title ?? artifact.id;
    const fail = (reason: string): ArtifactFailure => ({ artifactId: artifact.id, fileName, reason });
    if (artifact.sizeBytes !== undefined && artifact.sizeBytes > this.#options.maxBytes) {
      return fail(`${artifact.sizeBytes} bytes, more than ${this.#options.maxBytes}`);
    }
    let lastReason = 'no download offered';
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      let offer: ArtifactsDownloadResult;
      try {
        offer = await connection.request(
          'artifacts.download',
          { sessionKey, artifactId: artifact.id },
          ArtifactsDownloadResult,
          { signal },
        );
      } catch (error) {
        if (signal.aborted) throw error;
        return fail(error instanceof OpenClawRpcError ? error.message : describeCause(error));
      }
      const contentType = artifact.mimeType ?? offer.artifact?.mimeType;
      if (offer.data !== undefined) {
        const bytes = Buffer.from(offer.data, 'base64');
        if (bytes.length > this.#options.maxBytes) return fail(`more than ${this.#options.maxBytes} bytes`);
        return { fileName, contentType, bytes };
      }
      if (offer.url === undefined) return fail(lastReason);
      const fetched = await this.#get(offer.url, signal);
      if (Buffer.isBuffer(fetched)) return { fileName, contentType, bytes: fetched };
      lastReason = fetched.reason;
      if (!fetched.shouldRetry) break;
    }
    return fail(lastReason);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #get(
    relativeUrl: string,
    signal: AbortSignal,
  ): Promise<Buffer | { reason: string; shouldRetry: boolean }> {
    const base = new URL(this.#options.httpBaseUrl);
    const url = new URL(relativeUrl, base);
    if (url.origin !== base.origin) return { reason: 'download URL on another origin', shouldRetry: false };
    let response;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.#agent,
        signal,
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      return { reason: `GET failed: ${describeCause(error)}`, shouldRetry: false };
    }
    if (response.statusCode !== 200) {
      discardBody(response.body);
      // 401/403/404: the ticket expired or was refused; a fresh artifacts.download issues a new one.
      return {
        reason: `HTTP ${response.statusCode}`,
        shouldRetry: [401, 403, 404].includes(response.statusCode),
      };
    }
    const { bytes, isTruncated } = await readBodyCapped(response.body, this.#options.maxBytes);
    if (isTruncated) return { reason: `more than ${this.#options.maxBytes} bytes`, shouldRetry: false };
    return bytes;
  }
}
