import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DeviceIdentity, deviceProofPayload, type DeviceProofInput } from './device-identity.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function identityPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'device-identity-'));
  dirs.push(dir);
  return join(dir, 'nested', 'openclaw-device.json');
}

const INPUT: DeviceProofInput = {
  clientId: 'gateway-client',
  clientMode: 'backend',
  role: 'operator',
  scopes: ['operator.read', 'operator.write'],
  signedAtMs: 1_795_493_258_289,
  nonce: '51f1bbd9-351f-4c4c-aad8-3f5f9dac2e15',
  token: 'shared-token',
  platform: 'Linux',
  deviceFamily: '',
};

describe('DeviceIdentity', () => {
  it('creates a key pair once (file mode 0600) and loads the same identity afterwards', () => {
    const path = identityPath();
    const created = DeviceIdentity.loadOrCreate(path);
    const loaded = DeviceIdentity.loadOrCreate(path);

    expect(created.deviceId).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.deviceId).toBe(created.deviceId);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('signs the v3 payload with the key whose sha256 is the device id', () => {
    const identity = DeviceIdentity.loadOrCreate(identityPath());
    const proof = identity.prove(INPUT);

    expect(proof).toMatchObject({ id: identity.deviceId, signedAt: INPUT.signedAtMs, nonce: INPUT.nonce });
    const raw = Buffer.from(proof.publicKey, 'base64url');
    expect(raw).toHaveLength(32);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const payload = deviceProofPayload(identity.deviceId, INPUT);
    expect(verify(null, Buffer.from(payload), key, Buffer.from(proof.signature, 'base64url'))).toBe(true);
  });

  it('lays the payload out as v3|device|client|mode|role|scopes|signedAt|token|nonce|platform|family', () => {
    expect(deviceProofPayload('dev1', INPUT)).toBe(
      'v3|dev1|gateway-client|backend|operator|operator.read,operator.write|1795493258289|shared-token|' +
        '51f1bbd9-351f-4c4c-aad8-3f5f9dac2e15|linux|',
    );
  });

  it('stores, reloads and drops device tokens per gateway and role', () => {
    const path = identityPath();
    const identity = DeviceIdentity.loadOrCreate(path);
    identity.storeDeviceToken('ws://gw:18789', 'operator', 'tok-1', ['operator.read']);

    expect(DeviceIdentity.loadOrCreate(path).deviceToken('ws://gw:18789', 'operator')).toBe('tok-1');
    expect(identity.deviceToken('ws://other:18789', 'operator')).toBeUndefined();

    identity.dropDeviceToken('ws://gw:18789', 'operator');
    expect(DeviceIdentity.loadOrCreate(path).deviceToken('ws://gw:18789', 'operator')).toBeUndefined();
    expect(readFileSync(path, 'utf8')).not.toContain('tok-1');
  });

  it('refuses a malformed identity file instead of replacing it', () => {
    const path = identityPath();
    DeviceIdentity.loadOrCreate(path);
    writeFileSync(path, JSON.stringify({ version: 1, deviceId: 'nope' }));

    expect(() => DeviceIdentity.loadOrCreate(path)).toThrow(/is not a device identity file/);
    expect(readFileSync(path, 'utf8')).toContain('nope');
  });
});
