// Envelope of a stored tenant secret: AES-256-GCM, a fresh random 96-bit nonce per value, and the
// tenant and name as additional authenticated data, so a ciphertext copied to another tenant or
// another name (by someone with write access to the database) fails to decrypt instead of handing
// one agency's password to another. The first byte names the key version, so keys can rotate
// while older values stay readable.
//
//   [key version: 1 byte][nonce: 12 bytes][ciphertext: n bytes][GCM tag: 16 bytes]
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { FluxoError } from '../../common/errors.js';
import type { SecretsKeyring } from '../../common/keys.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;

/** A sealed value and the version of the key that sealed it. */
export interface SealedSecret {
  ciphertext: Uint8Array;
  keyVersion: number;
}

/** Binds a ciphertext to where it belongs; the prefix keeps it apart from any other use of the key. */
function additionalData(tenant: string, name: string, keyVersion: number): Buffer {
  return Buffer.from(`fluxo-tenant-secret\0${keyVersion}\0${tenant}\0${name}`, 'utf8');
}

/**
 * Encrypts and decrypts tenant secret values with a {@link SecretsKeyring}.
 *
 * @example
 * const cipher = new SecretCipher(await loadSecretsKeyring(path));
 * const sealed = cipher.seal('rj-smtr', 'DB_PASSWORD', 'hunter2');
 * cipher.open('rj-smtr', 'DB_PASSWORD', sealed.ciphertext); // 'hunter2'
 */
export class SecretCipher {
  readonly #keyring: SecretsKeyring;

  constructor(keyring: SecretsKeyring) {
    if (!keyring.keys.has(keyring.current)) throw new TypeError(`the keyring has no key for its current version ${keyring.current}`);
    for (const [version, key] of keyring.keys) {
      if (!Number.isInteger(version) || version < 1 || version > 255) throw new TypeError(`key version ${version} is not from 1 to 255`);
      if (key.byteLength !== 32) throw new TypeError(`key version ${version} holds ${key.byteLength} bytes, not 32`);
    }
    this.#keyring = keyring;
  }

  /** The key version new values are sealed with. */
  get currentVersion(): number {
    return this.#keyring.current;
  }

  /** Seals `value` for `tenant`/`name` with the current key. */
  seal(tenant: string, name: string, value: string): SealedSecret {
    const keyVersion = this.#keyring.current;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keyring.keys.get(keyVersion)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(tenant, name, keyVersion));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const ciphertext = Buffer.concat([Buffer.of(keyVersion), nonce, body, cipher.getAuthTag()]);
    return { ciphertext: new Uint8Array(ciphertext), keyVersion };
  }

  /**
   * Opens a value sealed for `tenant`/`name`. Throws SECRETS_UNAVAILABLE when its key version is
   * not in the keyring, or when it does not authenticate (altered, moved from another tenant or
   * name, or sealed with a different key of the same version); the message never holds the value.
   */
  open(tenant: string, name: string, ciphertext: Uint8Array): string {
    const sealed = Buffer.from(ciphertext);
    if (sealed.byteLength < HEADER_BYTES + TAG_BYTES) {
      throw new FluxoError('SECRETS_UNAVAILABLE', `secret ${name} of tenant ${tenant} is not a sealed value (${sealed.byteLength} bytes); set it again`);
    }
    const keyVersion = sealed[0]!;
    const key = this.#keyring.keys.get(keyVersion);
    if (!key) {
      throw new FluxoError(
        'SECRETS_UNAVAILABLE',
        `secret ${name} of tenant ${tenant} was encrypted with key version ${keyVersion}, which the server's secrets key file does not hold; add that key's line back (or set the secret again)`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(tenant, name, keyVersion));
    decipher.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES, sealed.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new FluxoError(
        'SECRETS_UNAVAILABLE',
        `secret ${name} of tenant ${tenant} does not decrypt with key version ${keyVersion}: it was altered, copied from another tenant or name, or that version's key changed; set the secret again`,
        { cause: error },
      );
    }
  }
}
