/**
 * The `connect` request after `connect.challenge`, and what its answer means
 * (shared/reference/openclaw-api.md §5.2; test/fixtures/openclaw-ws/handshake.json, auth-failure.json,
 * device-pairing.json, connect-while-starting.json).
 */
import { OpenClawAuthError, OpenClawUnavailableError, type OpenClawRpcError } from '../../errors.js';
import type { DeviceIdentity } from './device-identity.js';
import { PROTOCOL_VERSION, type ConnectChallenge, type HelloOk, type ResponseFrame } from './frames.js';
import { rpcErrorOf } from './pending-requests.js';

/**
 * OpenClaw's client ids are a closed list; `gateway-client` in `backend` mode is the one a headless
 * service uses, and on loopback with the shared token it keeps its scopes without a device identity.
 */
export const CLIENT_ID = 'gateway-client';
export const CLIENT_MODE = 'backend';
export const ROLE = 'operator';

/** Scope of `chat.send`, `chat.abort`, `agent.wait`; a connection without it is useless to us. */
export const WRITE_SCOPE = 'operator.write';
/** Scope of `sessions.reset`. */
export const ADMIN_SCOPE = 'operator.admin';
/** Scopes always requested; {@link ADMIN_SCOPE} is added when resets are wanted. */
export const BASE_SCOPES = ['operator.read', WRITE_SCOPE] as const;
/** Without this cap OpenClaw sends no tool arguments or results (the `tool` stream) to the sender. */
export const TOOL_EVENTS_CAP = 'tool-events';

/** How this client describes itself in `connect.params.client` (shown in OpenClaw's transcripts). */
export interface ClientDescription {
  readonly version: string;
  readonly displayName: string;
  /** `process.platform`, e.g. `linux`. */
  readonly platform: string;
}

/** Inputs of {@link connectParams}. */
export interface ConnectInput {
  readonly client: ClientDescription;
  readonly scopes: readonly string[];
  readonly caps: readonly string[];
  /** The gateway's shared token (`openclaw.token`). */
  readonly token: string | undefined;
  /** A device token stored from an earlier pairing. */
  readonly deviceToken: string | undefined;
  /** Present when a device proof is sent (off loopback). */
  readonly device: DeviceIdentity | undefined;
  readonly challenge: ConnectChallenge;
}

/** The `params` of the `connect` request. */
export function connectParams(input: ConnectInput): Record<string, unknown> {
  const auth: Record<string, string> = {};
  if (input.token !== undefined) auth['token'] = input.token;
  if (input.deviceToken !== undefined) auth['deviceToken'] = input.deviceToken;
  const params: Record<string, unknown> = {
    minProtocol: PROTOCOL_VERSION,
    maxProtocol: PROTOCOL_VERSION,
    client: {
      id: CLIENT_ID,
      version: input.client.version,
      platform: input.client.platform,
      mode: CLIENT_MODE,
      displayName: input.client.displayName,
    },
    role: ROLE,
    scopes: [...input.scopes],
    caps: [...input.caps],
    auth,
    userAgent: `${input.client.displayName}/${input.client.version}`,
  };
  if (input.device !== undefined) {
    params['device'] = input.device.prove({
      clientId: CLIENT_ID,
      clientMode: CLIENT_MODE,
      role: ROLE,
      scopes: input.scopes,
      signedAtMs: input.challenge.ts,
      nonce: input.challenge.nonce,
      token: input.token ?? input.deviceToken ?? '',
      platform: input.client.platform,
      deviceFamily: '',
    });
  }
  return params;
}

/**
 * The error a refused `connect` stands for: {@link OpenClawUnavailableError} when OpenClaw says to
 * retry (it refuses connects while starting: `UNAVAILABLE`, `retryable`, then close 1013),
 * {@link OpenClawAuthError} with an operator hint for credentials, pairing and protocol problems.
 */
export function connectFailure(frame: ResponseFrame): OpenClawAuthError | OpenClawUnavailableError {
  const rpcError = rpcErrorOf('connect', frame);
  if (rpcError.retryable) return new OpenClawUnavailableError(rpcError);
  const details = detailsOf(frame);
  const reason = rpcError.detailCode ?? rpcError.rpcCode;
  const requestId = typeof details['requestId'] === 'string' ? details['requestId'] : undefined;
  return new OpenClawAuthError(reason, hintFor(reason, rpcError, details, requestId), requestId);
}

/** Checks that `hello` grants what the bridge needs; the {@link OpenClawAuthError} to fail with otherwise. */
export function missingScopesError(hello: HelloOk): OpenClawAuthError | undefined {
  if (hello.auth.scopes.includes(WRITE_SCOPE)) return undefined;
  const granted = hello.auth.scopes.length === 0 ? 'none' : hello.auth.scopes.join(', ');
  return new OpenClawAuthError(
    'MISSING_SCOPES',
    `connected, but the gateway granted scopes ${granted} (${WRITE_SCOPE} is needed); off loopback OpenClaw ` +
      'clears the scopes of connections without a paired device identity',
  );
}

function detailsOf(frame: ResponseFrame): Record<string, unknown> {
  const details = frame.error?.details;
  return typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
}

function hintFor(
  reason: string,
  rpcError: OpenClawRpcError,
  details: Record<string, unknown>,
  requestId: string | undefined,
): string {
  if (reason === 'PAIRING_REQUIRED') {
    const approve =
      requestId === undefined ? 'openclaw devices list' : `openclaw devices approve ${requestId}`;
    return `this gateway's device identity is not paired yet; on the OpenClaw host run \`${approve}\``;
  }
  if (reason.startsWith('AUTH_')) return 'check openclaw.token';
  if (reason === 'PROTOCOL_MISMATCH') {
    const expected = typeof details['expectedProtocol'] === 'number' ? details['expectedProtocol'] : '?';
    return `OpenClaw speaks gateway protocol ${expected}, this gateway speaks ${PROTOCOL_VERSION}`;
  }
  if (reason === 'DEVICE_IDENTITY_REQUIRED') return 'OpenClaw needs a device identity from this host';
  if (reason.startsWith('DEVICE_AUTH_')) return 'the device proof was refused (check the host clock)';
  return rpcError.message;
}
