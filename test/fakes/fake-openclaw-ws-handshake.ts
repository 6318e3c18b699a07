/**
 * The fake gateway's answer to `connect`: protocol and client-id checks, shared-token and device
 * token auth, the v3 Ed25519 device proof the real gateway checks, pairing for remote clients, and
 * the `hello-ok` it grants (shaped after test/fixtures/openclaw-ws).
 */
import { createHash, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';

import type { FakeOpenClawWsState } from './fake-openclaw-ws-state.js';
import {
  DEFAULT_AGENT_ID,
  DEFAULT_TICK_INTERVAL_MS,
  FAKE_OPENCLAW_WS_TOKEN,
  isJson,
  str,
  type FakeWsConnection,
  type Json,
} from './fake-openclaw-ws-types.js';

const PROTOCOL = 4;
/** The real gateway's client-id list is closed; these are the ones a test may use. */
const CLIENT_IDS = new Set(['gateway-client', 'cli', 'test', 'webchat', 'openclaw-tui']);
const ATTACHMENT_LIMITS = { maxBytes: 19_464_192, maxImageBytes: 6_291_456 } as const;
const MAX_PAYLOAD_BYTES = 26_214_400;

/** Answers `connect` with an error and closes the socket (1008). */
type Refuse = (code: string, message: string, details: Json, closeReason?: string) => void;

/** How the client authenticated: `token` or `device-token`, and its verified device, if any. */
interface Authenticated {
  readonly method: string;
  readonly deviceId: string | undefined;
}

/** What the connection is granted. */
interface Grant {
  readonly scopes: string[];
  readonly issuedToken: string | undefined;
}

/**
 * Answers the `connect` request `id` of `connection`: `hello-ok` (returns true, the connection now
 * authenticated) or a refusal that closes the socket (returns false). @internal
 */
export function answerConnect(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  id: string,
  params: Json,
): boolean {
  const refuse: Refuse = (code, message, details, closeReason = message) => {
    state.fail(connection, id, code, message, details);
    connection.socket.close(1008, closeReason.slice(0, 120));
  };
  if (state.refusalsLeft > 0) {
    state.refusalsLeft -= 1;
    refuseStarting(state, connection, id);
    return false;
  }
  if (params['minProtocol'] !== PROTOCOL || params['maxProtocol'] !== PROTOCOL) {
    refuse('INVALID_REQUEST', 'protocol mismatch', {
      code: 'PROTOCOL_MISMATCH',
      expectedProtocol: PROTOCOL,
    });
    return false;
  }
  const client = isJson(params['client']) ? params['client'] : {};
  if (typeof client['id'] !== 'string' || !CLIENT_IDS.has(client['id'])) {
    refuse(
      'INVALID_REQUEST',
      'invalid connect params: at /client/id: must be equal to one of the allowed values',
      {},
    );
    return false;
  }
  const authenticated = authenticate(state, connection, client, params, refuse);
  if (authenticated === undefined) return false;
  const grant = grantScopes(state, authenticated.deviceId, params, refuse);
  if (grant === undefined) return false;
  connection.isAuthenticated = true;
  connection.scopes = grant.scopes;
  connection.caps = Array.isArray(params['caps']) ? params['caps'].map(String) : [];
  state.send(connection, {
    type: 'res',
    id,
    ok: true,
    payload: helloOk(state, connection, authenticated.method, grant),
  });
  return true;
}

function refuseStarting(state: FakeOpenClawWsState, connection: FakeWsConnection, id: string): void {
  state.send(connection, {
    type: 'res',
    id,
    ok: false,
    error: {
      code: 'UNAVAILABLE',
      message: 'gateway starting; retry shortly',
      retryable: true,
      retryAfterMs: 50,
      details: { reason: 'startup-sidecars' },
    },
  });
  connection.socket.close(1013, 'gateway starting');
}

/** Checks the device proof and the token; `undefined` once refused. */
function authenticate(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  client: Json,
  params: Json,
  refuse: Refuse,
): Authenticated | undefined {
  const auth = isJson(params['auth']) ? params['auth'] : {};
  const device = isJson(params['device']) ? params['device'] : undefined;
  const expected = state.options.token === undefined ? FAKE_OPENCLAW_WS_TOKEN : state.options.token;
  const deviceToken = typeof auth['deviceToken'] === 'string' ? auth['deviceToken'] : undefined;
  const sharedToken = typeof auth['token'] === 'string' ? auth['token'] : undefined;
  let deviceId: string | undefined;
  if (device !== undefined) {
    const proof = verifyDevice(connection, client, params, device, sharedToken ?? deviceToken ?? '');
    if (typeof proof !== 'string') {
      refuse('INVALID_REQUEST', proof.message, { code: proof.code, reason: proof.reason });
      return undefined;
    }
    deviceId = proof;
  }
  if (sharedToken !== undefined && expected !== null && sharedToken !== expected) {
    refuse('INVALID_REQUEST', 'unauthorized: gateway token mismatch (provide gateway auth token)', {
      code: 'AUTH_TOKEN_MISMATCH',
      authReason: 'token_mismatch',
      canRetryWithDeviceToken: false,
      recommendedNextStep: 'update_auth_credentials',
    });
    return undefined;
  }
  if (sharedToken !== undefined) return { method: 'token', deviceId };
  if (
    deviceToken === undefined ||
    deviceId === undefined ||
    state.deviceTokens.get(deviceId) !== deviceToken
  ) {
    refuse('INVALID_REQUEST', 'unauthorized: device token mismatch', {
      code: 'AUTH_DEVICE_TOKEN_MISMATCH',
      recommendedNextStep: 'update_auth_credentials',
    });
    return undefined;
  }
  return { method: 'device-token', deviceId };
}

/** The scopes granted, and for a paired remote device its device token; `undefined` once refused. */
function grantScopes(
  state: FakeOpenClawWsState,
  deviceId: string | undefined,
  params: Json,
  refuse: Refuse,
): Grant | undefined {
  const requested = Array.isArray(params['scopes']) ? params['scopes'].map(String) : [];
  const scopes = state.options.grantScopes === undefined ? requested : [...state.options.grantScopes];
  if (state.options.locality !== 'remote') return { scopes, issuedToken: undefined };
  if (deviceId === undefined) return { scopes: [], issuedToken: undefined };
  if (!state.pairedDevices.has(deviceId)) {
    const requestId = randomUUID();
    state.pairingRequests.set(requestId, deviceId);
    refuse(
      'NOT_PAIRED',
      'pairing required: device is not approved yet',
      {
        code: 'PAIRING_REQUIRED',
        reason: 'not-paired',
        requestId,
        remediationHint: 'Approve this device from the pending pairing requests.',
        deviceId,
        requestedRole: 'operator',
        requestedScopes: requested,
      },
      `pairing required: device is not approved yet (requestId: ${requestId})`,
    );
    return undefined;
  }
  const issuedToken = state.deviceTokens.get(deviceId) ?? `devtok-${randomBytes(12).toString('hex')}`;
  state.deviceTokens.set(deviceId, issuedToken);
  return { scopes, issuedToken };
}

function helloOk(
  state: FakeOpenClawWsState,
  connection: FakeWsConnection,
  method: string,
  grant: Grant,
): Json {
  const authPayload: Json = { method, role: 'operator', scopes: grant.scopes, recoveryScope: '<redacted>' };
  if (grant.issuedToken !== undefined) {
    authPayload['deviceToken'] = grant.issuedToken;
    authPayload['issuedAtMs'] = Date.now();
  }
  return {
    type: 'hello-ok',
    protocol: PROTOCOL,
    server: { version: '2026.9.6', buildId: 'fake', bootId: randomUUID(), connId: connection.id },
    features: {
      methods: [
        'chat.send',
        'chat.abort',
        'chat.history',
        'agent.wait',
        'sessions.reset',
        'artifacts.list',
        'artifacts.download',
      ],
      events: ['connect.challenge', 'agent', 'chat', 'tick', 'health', 'shutdown'],
      capabilities: [],
    },
    snapshot: {
      sessionDefaults: {
        defaultAgentId: DEFAULT_AGENT_ID,
        mainSessionKey: 'agent:main:main',
        scope: 'per-sender',
      },
      authMode: 'token',
    },
    auth: authPayload,
    policy: {
      maxPayload: MAX_PAYLOAD_BYTES,
      maxBufferedBytes: 52_428_800,
      tickIntervalMs: state.options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS,
      attachments: ATTACHMENT_LIMITS,
    },
  };
}

/** Checks the v3 device proof the real gateway checks; the device id, or the refusal. */
function verifyDevice(
  connection: FakeWsConnection,
  client: Json,
  params: Json,
  device: Json,
  token: string,
): string | { code: string; reason: string; message: string } {
  const publicKey = typeof device['publicKey'] === 'string' ? device['publicKey'] : '';
  const raw = Buffer.from(publicKey, 'base64url');
  const deviceId = createHash('sha256').update(raw).digest('hex');
  if (device['id'] !== deviceId) {
    return {
      code: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
      reason: 'device-id-mismatch',
      message: 'device identity mismatch',
    };
  }
  if (device['nonce'] !== connection.challenge.nonce) {
    return {
      code: 'DEVICE_AUTH_NONCE_MISMATCH',
      reason: 'device-nonce-mismatch',
      message: 'device nonce mismatch',
    };
  }
  const scopes = Array.isArray(params['scopes']) ? params['scopes'].map(String) : [];
  const payload = [
    'v3',
    deviceId,
    String(client['id']),
    String(client['mode']),
    String(params['role']),
    scopes.join(','),
    String(device['signedAt']),
    token,
    connection.challenge.nonce,
    str(client['platform']).toLowerCase(),
    str(client['deviceFamily']).toLowerCase(),
  ].join('|');
  // An Ed25519 SPKI DER key is a fixed 12-byte prefix and the 32 raw bytes.
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const isValid = verify(
    null,
    Buffer.from(payload, 'utf8'),
    createPublicKey({ key: spki, format: 'der', type: 'spki' }),
    Buffer.from(String(device['signature']), 'base64url'),
  );
  return isValid
    ? deviceId
    : {
        code: 'DEVICE_AUTH_SIGNATURE_INVALID',
        reason: 'device-signature',
        message: 'device signature invalid',
      };
}
