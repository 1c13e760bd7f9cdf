// Per-tenant secrets: tenant-admins store values, the server keeps them sealed (secret-cipher.ts)
// and opens them only to answer the claim of a run whose flow declares them (claim-secrets.ts).
// Users see names and times, never a value. Nothing here logs, and no error message holds a value:
// refusals name the secret and say what is wrong with its value, not what the value is.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import { secretNameProblem } from '../../contract/names.js';
import type { SecretsStore, TenantSecretRecord } from '../store/secrets-store.js';
import { authorize } from './authorize.js';
import type { SecretCipher } from './secret-cipher.js';

/** Largest value `setSecret` accepts, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;


/** What a server without a secrets key answers to every operation that needs one. */
const NO_SECRETS_KEY =
  'this server has no secrets key, so tenant secrets cannot be stored or read: create one with `fluxo keys init` ' +
  '(secrets.key in the keys directory) or pass --secrets-key-file (FLUXO_SECRETS_KEY_FILE) to `fluxo server start`, then restart it; see docs/security.md#secrets';

/** A secret's name and opened value, as the claim answer hands it to an agent. */
export interface SecretValue {
  name: string;
  value: string;
}

/** Throws BAD_USER_INPUT unless `name` is a valid secret name. */
function checkSecretName(name: string): string {
  const problem = secretNameProblem(name);
  if (problem) throw new FluxoError('BAD_USER_INPUT', `secret name "${name.slice(0, 120)}" ${problem}`);
  return name;
}

/** Throws BAD_USER_INPUT unless `value` can be stored and handed to a process; never quotes it. */
function checkSecretValue(name: string, value: string): string {
  if (value.length === 0) throw new FluxoError('BAD_USER_INPUT', `secret ${name}: the value is empty; delete the secret instead`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_VALUE_BYTES) throw new FluxoError('BAD_USER_INPUT', `secret ${name}: the value is ${bytes} bytes; at most ${MAX_SECRET_VALUE_BYTES} (64 KiB)`);
  // The value becomes an environment variable of the flow's process, which cannot hold NUL.
  if (value.includes('\0')) throw new FluxoError('BAD_USER_INPUT', `secret ${name}: the value contains a NUL character, which an environment variable cannot hold`);
  return value;
}

/**
 * The tenant secrets service: set, delete and list for users (role-checked, scoped by the
 * identity's tenant), `valuesFor` for the claim path. Without a cipher (no key configured) every
 * operation that needs a key refuses with SECRETS_UNAVAILABLE; deleting still works, so a secret
 * can be removed from a server that lost its key.
 *
 * @example const secrets = new TenantSecrets(store.secrets, new SecretCipher(keyring))
 */
export class TenantSecrets {
  readonly #store: SecretsStore;
  readonly #cipher: SecretCipher | null;

  constructor(store: SecretsStore, cipher: SecretCipher | null) {
    this.#store = store;
    this.#cipher = cipher;
  }

  #cipherOrRefuse(): SecretCipher {
    if (!this.#cipher) throw new FluxoError('SECRETS_UNAVAILABLE', NO_SECRETS_KEY);
    return this.#cipher;
  }

  /** Stores or replaces a secret of the caller's tenant (tenant-admin, admin). */
  async set(identity: Identity, input: { name: string; value: string }): Promise<TenantSecretRecord> {
    authorize(identity, 'manageSecrets');
    const name = checkSecretName(input.name);
    const value = checkSecretValue(name, input.value);
    const sealed = this.#cipherOrRefuse().seal(identity.tenant, name, value);
    return this.#store.put(identity.tenant, { name, ...sealed, updatedBy: identity.subject });
  }

  /** Deletes a secret of the caller's tenant (tenant-admin, admin); false when there was none. */
  async delete(identity: Identity, name: string): Promise<boolean> {
    authorize(identity, 'manageSecrets');
    return this.#store.delete(identity.tenant, checkSecretName(name));
  }

  /** The names of the caller's tenant's secrets (tenant-admin, admin, developer). */
  async list(identity: Identity): Promise<TenantSecretRecord[]> {
    authorize(identity, 'listSecrets');
    this.#cipherOrRefuse();
    return this.#store.list(identity.tenant);
  }

  /**
   * The opened values of those of `names` that `tenant` has stored; names it has not stored are
   * left out. No role check: the caller is the claim path, which has already checked that an
   * agent of `tenant` holds the run. SECRETS_UNAVAILABLE when a stored one cannot be opened.
   */
  async valuesFor(tenant: string, names: readonly string[]): Promise<SecretValue[]> {
    if (names.length === 0) return [];
    const stored = await this.#store.sealed(tenant, names);
    if (stored.length === 0) return [];
    if (!this.#cipher) {
      throw new FluxoError('SECRETS_UNAVAILABLE', `the flow needs stored ${stored.length === 1 ? 'secret' : 'secrets'} ${stored.map((s) => s.name).join(', ')}, but ${NO_SECRETS_KEY}`);
    }
    const cipher = this.#cipher;
    return stored.map((secret) => ({ name: secret.name, value: cipher.open(tenant, secret.name, secret.ciphertext) }));
  }

  /**
   * Re-encrypts, with the current key, every stored value sealed with another key version (after a
   * rotation), in every tenant, so the older key lines can be removed. Returns how many were
   * re-encrypted. A value that cannot be opened stops it with SECRETS_UNAVAILABLE naming the secret.
   */
  async rekey(batchSize = 100): Promise<number> {
    const cipher = this.#cipherOrRefuse();
    let resealed = 0;
    for (;;) {
      const batch = await this.#store.sealedWithOtherKey(cipher.currentVersion, batchSize);
      if (batch.length === 0) return resealed;
      for (const secret of batch) {
        const replacement = cipher.seal(secret.tenant, secret.name, cipher.open(secret.tenant, secret.name, secret.ciphertext));
        // A value set meanwhile is already sealed with the current key: nothing to do for it.
        if (await this.#store.reseal(secret.tenant, secret.name, secret.ciphertext, replacement)) resealed++;
      }
    }
  }
}
