/**
 * The Ed25519 device identity OpenClaw asks of operator clients that do not connect over loopback
 * (shared/reference/openclaw-api.md §5.2): a key pair generated once and kept in a file, the signed
 * connect proof, and the device token the gateway issues once an operator approved the pairing
 * (`openclaw devices approve <requestId>`), stored next to the key per gateway and role.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { z } from 'zod';

/** Prefix of the signed payload; v3 binds platform and device family too (v2 is the legacy form). */
const PAYLOAD_VERSION = 'v3';
/** An Ed25519 SPKI DER key ends with the 32 raw public-key bytes. */
const ED25519_RAW_KEY_BYTES = 32;

const StoredToken = z.looseObject({
  token: z.string().min(1),
  scopes: z.array(z.string()).default([]),
  issuedAtMs: z.number().optional(),
});

const IdentityFile = z.looseObject({
  version: z.literal(1),
  deviceId: z.string().regex(/^[0-9a-f]{64}$/),
  publicKey: z.string().min(1),
  privateKeyPem: z.string().min(1),
  /** Keyed by `<gateway url>|<role>`. */
  tokens: z.record(z.string(), StoredToken).default({}),
});
type IdentityFile = z.infer<typeof IdentityFile>;

/** What the connect proof binds, besides the key (all from the `connect` params and the challenge). */
export interface DeviceProofInput {
  readonly clientId: string;
  readonly clientMode: string;
  readonly role: string;
  readonly scopes: readonly string[];
  /** `connect.challenge.ts`. */
  readonly signedAtMs: number;
  readonly nonce: string;
  /** The `auth.token` sent, else the device token sent, else `''`. */
  readonly token: string;
  readonly platform: string;
  readonly deviceFamily: string;
}

/** `connect.params.device`. */
export interface DeviceProof {
  readonly id: string;
  readonly publicKey: string;
  readonly signature: string;
  readonly signedAt: number;
  readonly nonce: string;
}

/**
 * A device identity backed by one JSON file (mode 0600): created with a fresh key pair on first use,
 * rewritten atomically when a device token is stored. Throws when the file exists but is unreadable or
 * malformed (a new key would need a new pairing, so the file is never replaced silently).
 */
export class DeviceIdentity {
  readonly #path: string;
  #file: IdentityFile;
  readonly #privateKey: KeyObject;

  private constructor(path: string, file: IdentityFile) {
    this.#path = path;
    this.#file = file;
    this.#privateKey = createPrivateKey(file.privateKeyPem);
  }

  /** Loads the identity from `path`, or creates and saves a new one when the file does not exist. */
  static loadOrCreate(path: string): DeviceIdentity {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      const identity = new DeviceIdentity(path, newIdentityFile());
      identity.#save();
      return identity;
    }
    const parsed = IdentityFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${path} is not a device identity file: ${parsed.error.message}`);
    return new DeviceIdentity(path, parsed.data);
  }

  /** sha256 of the raw public key, hex: the id OpenClaw lists under `openclaw devices list`. */
  get deviceId(): string {
    return this.#file.deviceId;
  }

  /** The device token stored for this gateway and role, if a pairing was approved. */
  deviceToken(gatewayUrl: string, role: string): string | undefined {
    return this.#file.tokens[tokenKey(gatewayUrl, role)]?.token;
  }

  /** Stores (or replaces) the device token issued in `hello-ok.auth.deviceToken`. */
  storeDeviceToken(gatewayUrl: string, role: string, token: string, scopes: readonly string[]): void {
    const key = tokenKey(gatewayUrl, role);
    if (this.#file.tokens[key]?.token === token) return;
    this.#file = {
      ...this.#file,
      tokens: { ...this.#file.tokens, [key]: { token, scopes: [...scopes], issuedAtMs: Date.now() } },
    };
    this.#save();
  }

  /** Forgets a device token the gateway no longer accepts. */
  dropDeviceToken(gatewayUrl: string, role: string): void {
    const key = tokenKey(gatewayUrl, role);
    if (this.#file.tokens[key] === undefined) return;
    const tokens = Object.fromEntries(Object.entries(this.#file.tokens).filter(([name]) => name !== key));
    this.#file = { ...this.#file, tokens };
    this.#save();
  }

  /** Signs the connect proof for one challenge. */
  prove(input: DeviceProofInput): DeviceProof {
    const payload = deviceProofPayload(this.#file.deviceId, input);
    const signature = sign(null, Buffer.from(payload, 'utf8'), this.#privateKey).toString('base64url');
    return {
      id: this.#file.deviceId,
      publicKey: this.#file.publicKey,
      signature,
      signedAt: input.signedAtMs,
      nonce: input.nonce,
    };
  }

  #save(): void {
    mkdirSync(dirname(this.#path), { recursive: true });
    const temporary = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.#file, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.#path);
  }
}

/**
 * The text the device signs: `v3|deviceId|clientId|mode|role|scopes,comma-joined|signedAt|token|nonce|
 * platform|deviceFamily`, platform and family lower-cased.
 * @internal
 */
export function deviceProofPayload(deviceId: string, input: DeviceProofInput): string {
  return [
    PAYLOAD_VERSION,
    deviceId,
    input.clientId,
    input.clientMode,
    input.role,
    input.scopes.join(','),
    String(input.signedAtMs),
    input.token,
    input.nonce,
    input.platform.toLowerCase(),
    input.deviceFamily.toLowerCase(),
  ].join('|');
}

function tokenKey(gatewayUrl: string, role: string): string {
  return `${gatewayUrl}|${role}`;
}

function newIdentityFile(): IdentityFile {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const raw = spki.subarray(spki.length - ED25519_RAW_KEY_BYTES);
  return {
    version: 1,
    deviceId: createHash('sha256').update(raw).digest('hex'),
    publicKey: raw.toString('base64url'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    tokens: {},
  };
}
