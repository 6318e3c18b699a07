import type { MediaConfig } from '../config/types.js';
import type { AccessTokenCache } from '../dingtalk/api/access-token.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import { uploadMedia } from '../dingtalk/api/media-upload.js';
import { MediaDownloadError, downloadFile, resolveDownloadUrl } from '../dingtalk/api/message-files.js';
import { sniffImageMime } from '../media/media-kinds.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { RemoteFetcher } from '../media/remote-fetch.js';
import { videoCoverPng } from '../media/video-cover.js';
import type { InboundMediaSource } from './agent-content.js';
import type { ReplyMediaServices } from './reply-media.js';

/** What one account needs to move files: its API bases, robot code and token cache. */
export interface AccountMediaAccess {
  readonly apiBase: string;
  readonly oapiBase: string;
  readonly robotCode: string;
  readonly tokens: AccessTokenCache;
  /** Hosts a download URL may point at (DingTalk's OSS, the API hosts). */
  readonly downloadHosts: readonly string[];
}

export interface MediaServicesOptions {
  readonly http: DingTalkHttp;
  readonly accounts: ReadonlyMap<string, AccountMediaAccess>;
  readonly limits: MediaConfig;
  readonly remote: RemoteFetcher;
  /** Told about every upload attempt (metrics). */
  readonly onCall: (endpoint: string, status: string) => void;
  /** Counts uploads, downloads and their bytes. */
  readonly metrics: GatewayMetrics;
}

/** Endpoint name (metrics) of the GET of a file behind a messageFiles/download URL. */
export const FILE_DOWNLOAD_ENDPOINT = 'messageFiles/file';

/** A bounded label for a downloaded file: what its bytes or Content-Type say it is. */
function downloadKind(bytes: Buffer, contentType: string | undefined): string {
  if (sniffImageMime(bytes) !== undefined || contentType?.startsWith('image/') === true) return 'image';
  if (contentType?.startsWith('audio/') === true) return 'audio';
  if (contentType?.startsWith('video/') === true) return 'video';
  return 'file';
}

/** HTTP status (or `transport`) of a failed file download, for `dingtalk_api_calls_total`. */
function downloadStatus(error: unknown): string | undefined {
  if (!(error instanceof MediaDownloadError)) return undefined;
  if (error.status !== undefined) return String(error.status);
  if (error.reason === 'transport' || error.reason === 'timeout') return 'transport';
  return error.reason === 'too-large' ? '200' : undefined;
}

function accessFor(accounts: ReadonlyMap<string, AccountMediaAccess>, accountId: string): AccountMediaAccess {
  const access = accounts.get(accountId);
  if (access === undefined) throw new Error(`unknown account ${accountId}`);
  return access;
}

/**
 * Binds the DingTalk file APIs to the bridge's media interfaces: inbound downloads by
 * downloadCode, outbound uploads, remote attachment fetches, and the video cover (uploaded once
 * per account and reused: media ids do not expire).
 */
export function createMediaServices(options: MediaServicesOptions): {
  inbound: InboundMediaSource;
  reply: ReplyMediaServices;
} {
  const covers = new Map<string, Promise<string>>();
  const inbound: InboundMediaSource = {
    async download(accountId, downloadCode, maxBytes, signal) {
      const access = accessFor(options.accounts, accountId);
      const { metrics } = options;
      try {
        const url = await resolveDownloadUrl({
          http: options.http,
          apiBase: access.apiBase,
          robotCode: access.robotCode,
          tokens: access.tokens,
          downloadCode,
          signal,
        });
        const file = await downloadFile(url, {
          maxBytes,
          timeoutMs: options.limits.fetchTimeoutMs,
          signal,
          allowedHosts: access.downloadHosts,
        });
        const kind = downloadKind(file.bytes, file.contentType);
        options.onCall(FILE_DOWNLOAD_ENDPOINT, '200');
        metrics.mediaDownloads.inc({ kind, outcome: 'ok' });
        metrics.mediaDownloadBytes.inc({ kind }, file.bytes.length);
        return file;
      } catch (error) {
        const status = downloadStatus(error);
        if (status !== undefined) options.onCall(FILE_DOWNLOAD_ENDPOINT, status);
        const outcome = error instanceof MediaDownloadError ? error.reason : 'error';
        metrics.mediaDownloads.inc({ kind: 'unknown', outcome });
        throw error;
      }
    },
  };
  const reply: ReplyMediaServices = {
    async upload(accountId, file, signal) {
      const access = accessFor(options.accounts, accountId);
      try {
        const mediaId = await uploadMedia({
          oapiBase: access.oapiBase,
          tokens: access.tokens,
          ...file,
          signal,
          onCall: options.onCall,
        });
        options.metrics.mediaUploads.inc({ type: file.type, outcome: 'ok' });
        options.metrics.mediaUploadBytes.inc({ type: file.type }, file.bytes.length);
        return mediaId;
      } catch (error) {
        options.metrics.mediaUploads.inc({ type: file.type, outcome: 'error' });
        throw error;
      }
    },
    fetchRemote: (url, signal) => options.remote.fetch(url, signal),
    async videoCover(accountId, signal) {
      let cover = covers.get(accountId);
      if (cover === undefined) {
        cover = reply.upload(
          accountId,
          { type: 'image', fileName: 'cover.png', contentType: 'image/png', bytes: videoCoverPng() },
          signal,
        );
        covers.set(accountId, cover);
        // A failed upload is not cached: the next video tries again.
        cover.catch(() => covers.delete(accountId));
      }
      try {
        return await cover;
      } catch {
        return undefined;
      }
    },
  };
  return { inbound, reply };
}
