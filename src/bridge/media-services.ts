import type { MediaConfig } from '../config/types.js';
import type { AccessTokenCache } from '../dingtalk/api/access-token.js';
import type { DingTalkHttp } from '../dingtalk/api/http-client.js';
import { uploadMedia } from '../dingtalk/api/media-upload.js';
import { downloadFile, resolveDownloadUrl } from '../dingtalk/api/message-files.js';
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
}

export interface MediaServicesOptions {
  readonly http: DingTalkHttp;
  readonly accounts: ReadonlyMap<string, AccountMediaAccess>;
  readonly limits: MediaConfig;
  readonly remote: RemoteFetcher;
  /** Told about every upload attempt (metrics). */
  readonly onCall: (endpoint: string, status: string) => void;
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
      const url = await resolveDownloadUrl({
        http: options.http,
        apiBase: access.apiBase,
        robotCode: access.robotCode,
        tokens: access.tokens,
        downloadCode,
        signal,
      });
      return downloadFile(url, { maxBytes, timeoutMs: options.limits.fetchTimeoutMs, signal });
    },
  };
  const reply: ReplyMediaServices = {
    upload(accountId, file, signal) {
      const access = accessFor(options.accounts, accountId);
      return uploadMedia({
        oapiBase: access.oapiBase,
        tokens: access.tokens,
        ...file,
        signal,
        onCall: options.onCall,
      });
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
