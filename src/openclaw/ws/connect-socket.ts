/**
 * One connect attempt: opens a socket to the gateway and runs the challenge/connect handshake on it
 * (shared/reference/openclaw-api.md §5.2), keeping the device token `hello-ok` issues.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';

import { OpenClawAuthError, OpenClawUnavailableError } from '../../errors.js';
import type { OpenClawWsConnectionOptions } from './connection-options.js';
import type { DeviceIdentity } from './device-identity.js';
import { ConnectChallenge, HelloOk, type ResponseFrame } from './frames.js';
import { connectFailure, connectParams, missingScopesError, ROLE } from './handshake.js';
import { parseFrame } from './socket-io.js';

/** Largest frame accepted from OpenClaw (its own `policy.maxPayload` is 25 MiB). */
const MAX_INBOUND_FRAME_BYTES = 32 * 1024 * 1024;

/** A socket past the handshake, with the `hello-ok` that opened it. @internal */
export interface OpenSocket {
  readonly socket: WebSocket;
  readonly hello: HelloOk;
  /** `Date.now()` when the handshake completed. */
  openedAtMs?: number;
}

/** What {@link connectSocket} needs besides the connection options. @internal */
export interface ConnectSetup {
  readonly options: OpenClawWsConnectionOptions;
  /** Id of the `connect` request, asked for when the challenge arrives. */
  readonly connectRequestId: () => string;
  /** Called synchronously once the attempt succeeded or failed, before `opened` settles. */
  readonly onSettled: () => void;
  readonly log: Logger | undefined;
}

/** A connect attempt in progress. @internal */
export interface ConnectAttempt {
  /** The socket being connected; terminating it ends the attempt. */
  readonly socket: WebSocket;
  /**
   * Resolves with the open socket and its `hello-ok`; rejects with {@link OpenClawUnavailableError}
   * or {@link OpenClawAuthError}, the socket then terminated.
   */
  readonly opened: Promise<OpenSocket>;
}

type ConnectOutcome = { readonly open: OpenSocket } | { readonly error: Error };

/** Opens a socket and runs the handshake on it. @internal */
export function connectSocket(setup: ConnectSetup): ConnectAttempt {
  const { options } = setup;
  const deviceToken = options.device?.deviceToken(options.url, ROLE);
  const socket = new WebSocket(options.url, {
    headers: { ...options.headers },
    handshakeTimeout: options.connectTimeoutMs,
    maxPayload: MAX_INBOUND_FRAME_BYTES,
    perMessageDeflate: false,
  });
  const opened = new Promise<OpenSocket>((resolve, reject) => {
    let connectRequestId: string | undefined;
    let isSettled = false;
    const settle = (outcome: ConnectOutcome): void => {
      if (isSettled) return;
      isSettled = true;
      setup.onSettled();
      clearTimeout(timer);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.off('unexpected-response', onUnexpectedResponse);
      if ('open' in outcome) {
        resolve(outcome.open);
        return;
      }
      socket.on('error', () => undefined);
      socket.terminate();
      reject(outcome.error);
    };
    const timer = setTimeout(() => {
      settle({ error: unavailable(`no hello within ${options.connectTimeoutMs} ms`) });
    }, options.connectTimeoutMs);
    const onError = (error: Error): void => {
      settle({ error: new OpenClawUnavailableError(error) });
    };
    const onClose = (code: number, reason: Buffer): void => {
      const text = reason.toString('utf8');
      settle({
        error: unavailable(`closed during the handshake (close ${code}${text === '' ? '' : ` ${text}`})`),
      });
    };
    const onUnexpectedResponse = (_request: unknown, response: { statusCode?: number }): void => {
      settle({ error: unavailable(`WebSocket upgrade refused: HTTP ${response.statusCode ?? '?'}`) });
    };
    const onMessage = (data: WebSocket.RawData): void => {
      const frame = parseFrame(data);
      if (frame === undefined) return;
      if (frame.type === 'event' && frame.event === 'connect.challenge' && connectRequestId === undefined) {
        const challenge = ConnectChallenge.safeParse(frame.payload);
        if (!challenge.success) {
          settle({ error: unavailable('malformed connect.challenge') });
          return;
        }
        connectRequestId = setup.connectRequestId();
        sendConnect(socket, connectRequestId, options, deviceToken, challenge.data);
        return;
      }
      if (frame.type === 'res' && frame.id === connectRequestId)
        settle(connectOutcome(frame, deviceToken, socket, setup));
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.on('unexpected-response', onUnexpectedResponse);
  });
  return { socket, opened };
}

function sendConnect(
  socket: WebSocket,
  requestId: string,
  options: OpenClawWsConnectionOptions,
  deviceToken: string | undefined,
  challenge: ConnectChallenge,
): void {
  const params = connectParams({
    client: options.client,
    scopes: options.scopes,
    caps: options.caps,
    token: options.token,
    deviceToken,
    device: options.device,
    challenge,
  });
  socket.send(JSON.stringify({ type: 'req', id: requestId, method: 'connect', params }));
}

/** What the answer to `connect` means: an open socket, or why the attempt failed. */
function connectOutcome(
  frame: ResponseFrame,
  sentDeviceToken: string | undefined,
  socket: WebSocket,
  setup: ConnectSetup,
): ConnectOutcome {
  const { device, url } = setup.options;
  if (!frame.ok) {
    const failure = connectFailure(frame);
    // A device token the gateway no longer accepts (revoked, rotated) would fail every connect.
    if (
      failure instanceof OpenClawAuthError &&
      sentDeviceToken !== undefined &&
      failure.reason.includes('DEVICE_TOKEN')
    ) {
      device?.dropDeviceToken(url, ROLE);
    }
    return { error: failure };
  }
  const hello = HelloOk.safeParse(frame.payload);
  if (!hello.success) return { error: unavailable('malformed hello-ok') };
  const scopesError = missingScopesError(hello.data);
  if (scopesError !== undefined) return { error: scopesError };
  const issued = hello.data.auth.deviceToken;
  if (device !== undefined && issued !== undefined)
    storeDeviceToken(device, url, issued, hello.data, setup.log);
  return { open: { socket, hello: hello.data } };
}

function storeDeviceToken(
  device: DeviceIdentity,
  url: string,
  issued: string,
  hello: HelloOk,
  log: Logger | undefined,
): void {
  try {
    device.storeDeviceToken(url, ROLE, issued, hello.auth.scopes);
    log?.info({ deviceId: device.deviceId }, 'openclaw device token stored');
  } catch (error) {
    log?.warn({ err: error }, 'could not store the openclaw device token');
  }
}

function unavailable(message: string): OpenClawUnavailableError {
  return new OpenClawUnavailableError(new Error(message));
}
