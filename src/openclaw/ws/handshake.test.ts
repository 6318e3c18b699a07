import { describe, expect, it } from 'vitest';

import { fixtureFrames, type CapturedFrame } from '../../../test/helpers/openclaw-ws-fixtures.js';
import { OpenClawAuthError, OpenClawUnavailableError } from '../../errors.js';
import { HelloOk, ResponseFrame } from './frames.js';
import { connectFailure, missingScopesError } from './handshake.js';

/** The `connect` answer among captured frames. */
function connectAnswer(frames: readonly CapturedFrame[]): ResponseFrame {
  const found = frames.find((entry) => entry.dir === 'in' && entry.frame['type'] === 'res');
  return ResponseFrame.parse(found?.frame);
}

describe('connect answers captured from the real gateway', () => {
  it('treats "gateway starting" as unavailable (retryable)', () => {
    const error = connectFailure(connectAnswer(fixtureFrames('connect-while-starting')));

    expect(error).toBeInstanceOf(OpenClawUnavailableError);
    expect(error.retryable).toBe(true);
  });

  it('explains a wrong token', () => {
    const error = connectFailure(connectAnswer(fixtureFrames('auth-failure')));

    expect(error).toBeInstanceOf(OpenClawAuthError);
    expect(error).toMatchObject({ reason: 'AUTH_TOKEN_MISMATCH', retryable: false });
    expect(error.message).toContain('check openclaw.token');
  });

  it('names the pairing request to approve', () => {
    const error = connectFailure(connectAnswer(fixtureFrames('device-pairing', 'remoteFirstConnect')));

    expect(error).toBeInstanceOf(OpenClawAuthError);
    const requestId = (error as OpenClawAuthError).pairingRequestId;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.message).toContain(`openclaw devices approve ${requestId!}`);
  });

  it('explains a protocol mismatch', () => {
    const error = connectFailure({
      type: 'res',
      id: 'c1',
      ok: false,
      error: {
        code: 'INVALID_REQUEST',
        message: 'protocol mismatch',
        details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: 5 },
      },
    });

    expect(error.message).toContain('OpenClaw speaks gateway protocol 5');
  });

  it('accepts the scopes granted on loopback and refuses the empty scopes of a remote client without device', () => {
    const hello = (frames: readonly CapturedFrame[]): HelloOk => HelloOk.parse(connectAnswer(frames).payload);

    expect(missingScopesError(hello(fixtureFrames('handshake')))).toBeUndefined();
    expect(missingScopesError(hello(fixtureFrames('device-pairing', 'remoteAfterApproval')))).toBeUndefined();
    expect(missingScopesError(hello(fixtureFrames('device-pairing', 'remoteWithoutDevice')))).toMatchObject({
      reason: 'MISSING_SCOPES',
    });
  });
});
