import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

import { Agent, type Dispatcher, request } from 'undici';

import { GatewayError, ERROR_CODES, describeCause } from '../errors.js';
import { isPrivateAddress } from './network-guard.js';
import { withDeadline } from '../util/deadline-signal.js';
import { discardBody } from '../util/discard-body.js';
import { readBodyCapped } from '../util/http-body.js';

/** How many redirects an attachment URL may take. */
export const MAX_REDIRECTS = 3;

export type RemoteFetchFailure =
  'refused-address' | 'bad-url' | 'too-large' | 'http-status' | 'unreachable' | 'too-many-redirects';

/** Fetching an attachment URL failed; `reason` says why (no URL query is ever included). */
export class RemoteFetchError extends GatewayError {
  readonly code = ERROR_CODES.MEDIA_FETCH;
  readonly retryable: boolean;
  readonly reason: RemoteFetchFailure;

  constructor(reason: RemoteFetchFailure, detail: string, retryable = false, cause?: unknown) {
    super(`attachment URL not fetched (${reason}): ${detail}`, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.retryable = retryable;
  }
}

/** A downloaded attachment: its bytes, Content-Type and the URL it finally came from. */
export interface RemoteFile {
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  readonly url: URL;
}

export interface RemoteFetchOptions {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Allow loopback/private/link-local targets (tests, intranet deployments). */
  readonly allowPrivateNetworks: boolean;
}

/**
 * A DNS lookup that refuses private answers: the connection is made to the checked address, so a
 * name cannot resolve to a public address for the check and a private one for the connect.
 */
function guardedLookup(
  hostname: string,
  options: { family?: number; all?: boolean },
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  // undici's connect never follows redirects itself: each hop comes back here and is looked up again.
  dnsLookup(hostname, { family: options.family ?? 0, all: true }, (error, addresses) => {
    if (error !== null) {
      callback(error, '');
      return;
    }
    const allowed = addresses.filter((entry) => !isPrivateAddress(entry.address));
    const [first] = allowed;
    if (first === undefined) {
      const refusal: NodeJS.ErrnoException = new Error(`${hostname} resolves only to private addresses`);
      refusal.code = 'EGATEWAYPRIVATE';
      callback(refusal, '');
    } else if (options.all === true) {
      callback(null, allowed);
    } else {
      callback(null, first.address, first.family);
    }
  });
}

function checkUrl(url: URL, allowPrivateNetworks: boolean): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RemoteFetchError('bad-url', `scheme ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new RemoteFetchError('bad-url', 'credentials in URL');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivateNetworks && isIP(host) !== 0 && isPrivateAddress(host)) {
    throw new RemoteFetchError('refused-address', `${host} is not a public address`);
  }
}

/**
 * Downloads http(s) URLs the agent attached: at most `maxBytes` (checked while streaming), within
 * `timeoutMs`, following at most {@link MAX_REDIRECTS} redirects (never https → http), each hop
 * checked again. Unless `allowPrivateNetworks`, private/loopback/link-local targets are refused,
 * both as literals and by DNS answer. Owns its undici agent: call `close()`.
 */
export class RemoteFetcher {
  readonly #options: RemoteFetchOptions;
  readonly #agent: Agent;

  constructor(options: RemoteFetchOptions) {
    this.#options = options;
    this.#agent = new Agent({
      keepAliveTimeout: 1_000,
      ...(options.allowPrivateNetworks ? {} : { connect: { lookup: guardedLookup as never } }),
    });
  }

  async fetch(rawUrl: string, signal?: AbortSignal): Promise<RemoteFile> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new RemoteFetchError('bad-url', 'unparsable');
    }
    return withDeadline(this.#options.timeoutMs, signal, (deadline) => this.#follow(url, deadline));
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** The GETs of {@link fetch}: each hop checked, at most {@link MAX_REDIRECTS} redirects. */
  async #follow(start: URL, signal: AbortSignal): Promise<RemoteFile> {
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      checkUrl(url, this.#options.allowPrivateNetworks);
      const response = await this.#get(url, signal);
      const { statusCode, headers, body } = response;
      const location = headers['location'];
      if (statusCode >= 300 && statusCode < 400 && typeof location === 'string') {
        body.resume();
        const next = new URL(location, url);
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new RemoteFetchError('bad-url', 'redirect from https to http refused');
        }
        url = next;
        continue;
      }
      if (statusCode < 200 || statusCode >= 300) {
        body.resume();
        throw new RemoteFetchError(
          'http-status',
          `${url.hostname} answered HTTP ${statusCode}`,
          statusCode >= 500,
        );
      }
      const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined;
      return {
        bytes: await readCapped(body, headers['content-length'], this.#options.maxBytes),
        contentType,
        url,
      };
    }
    throw new RemoteFetchError('too-many-redirects', `more than ${MAX_REDIRECTS} redirects`);
  }

  async #get(url: URL, signal: AbortSignal) {
    try {
      return await request(url, { method: 'GET', dispatcher: this.#agent, signal });
    } catch (error) {
      const isRefused =
        describeCause(error).includes('EGATEWAYPRIVATE') ||
        describeCause(error).includes('private addresses');
      throw isRefused
        ? new RemoteFetchError('refused-address', `${url.hostname} resolves to a private address`)
        : new RemoteFetchError('unreachable', `${url.hostname}: ${describeCause(error)}`, true, error);
    }
  }
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  contentLength: string | string[] | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > maxBytes) {
    discardBody(body);
    throw new RemoteFetchError('too-large', `${declared} bytes > ${maxBytes}`);
  }
  const { bytes, isTruncated } = await readBodyCapped(body, maxBytes);
  if (isTruncated) throw new RemoteFetchError('too-large', `more than ${maxBytes} bytes`);
  return bytes;
}
