// Tenant secrets below GraphQL: the envelope (AES-256-GCM bound to tenant and name), the key file,
// and the service over every store (what rests in the table, who may do what, no key configured,
// re-encryption after a key rotation).
import { randomBytes } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { findSecretsKeyring, initKeys, keyPaths, loadSecretsKeyring, type SecretsKeyring } from '../../common/keys.js';
import { SecretCipher } from '../../server/core/secret-cipher.js';
import { MAX_SECRET_VALUE_BYTES, TenantSecrets } from '../../server/core/secrets.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup, tempDir } from '../support/harness.js';
import { refusalOf } from '../support/refusal.js';
import { adapters } from './adapters.js';

const VALUE = 'correct-horse-battery-staple-9f3a';
const keyring = (...versions: number[]): SecretsKeyring => ({
  current: Math.max(...versions),
  keys: new Map(versions.map((v) => [v, new Uint8Array(randomBytes(32))])),
});

const tenantAdmin: Identity = { subject: 'rita', tenant: 'rj-smtr', role: 'tenant-admin' };
const developer: Identity = { subject: 'dev', tenant: 'rj-smtr', role: 'developer' };
const viewer: Identity = { subject: 'vera', tenant: 'rj-smtr', role: 'viewer' };
const otherAdmin: Identity = { subject: 'otto', tenant: 'rj-escritorio', role: 'tenant-admin' };

describe('the secret envelope', () => {
  it('opens what it sealed, with a fresh nonce every time', () => {
    const cipher = new SecretCipher(keyring(1));
    const a = cipher.seal('rj-smtr', 'DB_PASSWORD', VALUE);
    const b = cipher.seal('rj-smtr', 'DB_PASSWORD', VALUE);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
    expect(a.keyVersion).toBe(1);
    expect(a.ciphertext[0]).toBe(1);
    expect(a.ciphertext.byteLength).toBe(1 + 12 + Buffer.byteLength(VALUE) + 16);
    expect(cipher.open('rj-smtr', 'DB_PASSWORD', a.ciphertext)).toBe(VALUE);
    expect(cipher.open('rj-smtr', 'DB_PASSWORD', b.ciphertext)).toBe(VALUE);
    expect(cipher.open('t', 'EMOJI', cipher.seal('t', 'EMOJI', 'senha 🔑 çã').ciphertext)).toBe('senha 🔑 çã');
  });

  it.each([
    ['another tenant', 'rj-escritorio', 'DB_PASSWORD'],
    ['another name', 'rj-smtr', 'API_TOKEN'],
  ])('refuses a ciphertext moved to %s', (_, tenant, name) => {
    const cipher = new SecretCipher(keyring(1));
    const { ciphertext } = cipher.seal('rj-smtr', 'DB_PASSWORD', VALUE);
    const refusal = (() => {
      try {
        cipher.open(tenant, name, ciphertext);
      } catch (error) {
        return error as { code: string; message: string };
      }
      throw new Error('it decrypted');
    })();
    expect(refusal).toMatchObject({ code: 'SECRETS_UNAVAILABLE', message: expect.stringMatching(/does not decrypt with key version 1: it was altered, copied from another tenant or name/) });
    expect(refusal.message).not.toContain(VALUE);
  });

  it.each([
    ['a nonce byte', 5],
    ['a ciphertext byte', 14],
    ['a tag byte', -1],
  ])('refuses a value with %s flipped', (_, index) => {
    const cipher = new SecretCipher(keyring(1));
    const tampered = Buffer.from(cipher.seal('rj-smtr', 'DB_PASSWORD', VALUE).ciphertext);
    const at = index < 0 ? tampered.byteLength + index : index;
    tampered[at] = tampered[at]! ^ 0x01;
    expect(() => cipher.open('rj-smtr', 'DB_PASSWORD', tampered)).toThrow(expect.objectContaining({ code: 'SECRETS_UNAVAILABLE' }));
  });

  it('opens values of an older key after a rotation, and says which key is missing otherwise', () => {
    const old = keyring(1);
    const sealed = new SecretCipher(old).seal('rj-smtr', 'DB_PASSWORD', VALUE);
    const rotated: SecretsKeyring = { current: 2, keys: new Map([...old.keys, [2, new Uint8Array(randomBytes(32))]]) };
    const cipher = new SecretCipher(rotated);
    expect(cipher.open('rj-smtr', 'DB_PASSWORD', sealed.ciphertext)).toBe(VALUE);
    expect(cipher.seal('rj-smtr', 'DB_PASSWORD', VALUE).keyVersion).toBe(2);
    expect(() => new SecretCipher(keyring(2)).open('rj-smtr', 'DB_PASSWORD', sealed.ciphertext)).toThrow(
      expect.objectContaining({ code: 'SECRETS_UNAVAILABLE', message: expect.stringMatching(/encrypted with key version 1, which the server's secrets key file does not hold/) }),
    );
  });
});

describe('the secrets key file', () => {
  it('is created by `keys init` for the owner only, with version 1, and found in the keys directory', async () => {
    const dir = join(await tempDir(), 'keys');
    const { paths, created } = await initKeys(dir);
    expect(created).toContain(paths.secretsKey);
    expect((await stat(paths.secretsKey)).mode & 0o777).toBe(0o600);
    const loaded = await loadSecretsKeyring(paths.secretsKey);
    expect(loaded.current).toBe(1);
    expect(loaded.keys.get(1)?.byteLength).toBe(32);
    expect(await findSecretsKeyring({ keysDir: dir })).toMatchObject({ path: paths.secretsKey, keyring: { current: 1 } });
  });

  it('is optional in the keys directory but required when named', async () => {
    const dir = await tempDir();
    expect(await findSecretsKeyring({ keysDir: dir })).toBeNull();
    await expect(findSecretsKeyring({ file: join(dir, 'missing.key'), keysDir: dir })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/missing.key: it does not exist/) });
  });

  it('reads a bare key as version 1 and the highest version as current', async () => {
    const dir = await tempDir();
    const bare = join(dir, 'bare.key');
    await writeFile(bare, `${randomBytes(32).toString('base64')}\n`);
    expect((await loadSecretsKeyring(bare)).current).toBe(1);
    const rotated = join(dir, 'rotated.key');
    await writeFile(rotated, `# comment\n1 ${randomBytes(32).toString('base64url')}\n\n7 ${randomBytes(32).toString('base64url')}\n`);
    const loaded = await loadSecretsKeyring(rotated);
    expect(loaded.current).toBe(7);
    expect([...loaded.keys.keys()]).toEqual([1, 7]);
  });

  it.each([
    ['a short key', `1 ${randomBytes(16).toString('base64url')}`, /line 1: the key holds 16 bytes; AES-256 needs exactly 32/],
    ['version 0', `0 ${randomBytes(32).toString('base64url')}`, /line 1: the version must be from 1 to 255, got 0/],
    ['version 256', `256 ${randomBytes(32).toString('base64url')}`, /line 1: the version must be from 1 to 255, got 256/],
    ['a repeated version', `2 ${randomBytes(32).toString('base64url')}\n2 ${randomBytes(32).toString('base64url')}`, /line 2: version 2 appears twice/],
    ['a line that is not a key', 'not a key at all', /line 1 is not "<version> <base64 key>"/],
    ['only comments', '# nothing here', /holds no key/],
  ])('refuses %s', async (_, text, message) => {
    const path = join(await tempDir(), 'secrets.key');
    await writeFile(path, `${text}\n`);
    await expect(loadSecretsKeyring(path)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });
});

/** What rests in tenant_secrets, read straight from the database. */
async function rawRows(store: Store): Promise<{ tenant: string; name: string; ciphertext: Buffer; key_version: number }[]> {
  if (store instanceof SqliteStore) return store.db.prepare('SELECT tenant, name, ciphertext, key_version FROM tenant_secrets ORDER BY tenant, name').all() as never;
  if (store instanceof PostgresStore) return store.db.rows(sql`SELECT tenant, name, ciphertext, key_version FROM tenant_secrets ORDER BY tenant, name`);
  throw new Error('unknown store');
}

describe.each(adapters)('tenant secrets on $name', ({ open }) => {
  async function setup(ring: SecretsKeyring | null = keyring(1)) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, secrets: new TenantSecrets(store.secrets, ring ? new SecretCipher(ring) : null) };
  }

  it('stores only ciphertext: the value is nowhere in the table', async () => {
    const { store, secrets } = await setup();
    await secrets.set(tenantAdmin, { name: 'DB_PASSWORD', value: VALUE });
    const rows = await rawRows(store);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tenant: 'rj-smtr', name: 'DB_PASSWORD', key_version: 1 });
    const stored = Buffer.from(rows[0]!.ciphertext);
    expect(stored.includes(Buffer.from(VALUE))).toBe(false);
    expect(stored.toString('latin1')).not.toContain(VALUE);
    expect(JSON.stringify(rows)).not.toContain(VALUE);
  });

  it('lists names and times to developers, replaces a value keeping createdAt, and deletes', async () => {
    const { secrets } = await setup();
    const first = await secrets.set(tenantAdmin, { name: 'DB_PASSWORD', value: VALUE });
    expect(first).toEqual({ tenant: 'rj-smtr', name: 'DB_PASSWORD', createdAt: expect.any(Number), updatedAt: first.createdAt, updatedBy: 'rita' });
    await secrets.set(tenantAdmin, { name: 'API_TOKEN', value: 'tok-123456' });
    const replaced = await secrets.set({ ...tenantAdmin, subject: 'ruth', role: 'admin' }, { name: 'DB_PASSWORD', value: 'new-value-1234' });
    expect(replaced).toMatchObject({ createdAt: first.createdAt, updatedBy: 'ruth' });
    expect(replaced.updatedAt).toBeGreaterThanOrEqual(first.updatedAt);
    const listed = await secrets.list(developer);
    expect(listed.map((s) => s.name)).toEqual(['API_TOKEN', 'DB_PASSWORD']);
    expect(JSON.stringify(listed)).not.toMatch(/new-value|tok-123456|ciphertext/);
    expect(await secrets.valuesFor('rj-smtr', ['DB_PASSWORD'])).toEqual([{ name: 'DB_PASSWORD', value: 'new-value-1234' }]);
    expect(await secrets.delete(tenantAdmin, 'DB_PASSWORD')).toBe(true);
    expect(await secrets.delete(tenantAdmin, 'DB_PASSWORD')).toBe(false);
    expect((await secrets.list(developer)).map((s) => s.name)).toEqual(['API_TOKEN']);
  });

  it('hands out only the declared names the tenant stored, and nothing of another tenant', async () => {
    const { secrets } = await setup();
    await secrets.set(tenantAdmin, { name: 'DB_PASSWORD', value: VALUE });
    await secrets.set(tenantAdmin, { name: 'UNDECLARED', value: 'not-for-this-flow' });
    await secrets.set(otherAdmin, { name: 'DB_PASSWORD', value: 'escritorio-password' });
    expect(await secrets.valuesFor('rj-smtr', ['DB_PASSWORD', 'NOT_STORED'])).toEqual([{ name: 'DB_PASSWORD', value: VALUE }]);
    expect(await secrets.valuesFor('rj-escritorio', ['DB_PASSWORD', 'UNDECLARED'])).toEqual([{ name: 'DB_PASSWORD', value: 'escritorio-password' }]);
    expect(await secrets.valuesFor('rj-smtr', [])).toEqual([]);
    expect((await secrets.list(otherAdmin)).map((s) => s.name)).toEqual(['DB_PASSWORD']);
    expect(await secrets.delete(otherAdmin, 'UNDECLARED')).toBe(false);
  });

  it.each([
    ['a developer sets', developer, 'set', /role "developer" may not manage secrets \(allowed: admin, tenant-admin\)/],
    ['a developer deletes', developer, 'delete', /role "developer" may not manage secrets/],
    ['a viewer lists', viewer, 'list', /role "viewer" may not list secrets \(allowed: admin, tenant-admin, developer\)/],
    ['an agent lists', { ...viewer, role: 'agent' }, 'list', /role "agent" may not list secrets/],
    ['CI sets', { ...viewer, role: 'ci' }, 'set', /role "ci" may not manage secrets/],
  ] as const)('refuses when %s', async (_, identity, operation, message) => {
    const { secrets } = await setup();
    const call = {
      set: () => secrets.set(identity, { name: 'DB_PASSWORD', value: VALUE }),
      delete: () => secrets.delete(identity, 'DB_PASSWORD'),
      list: () => secrets.list(identity),
    }[operation];
    expect(await refusalOf(call)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(message) });
  });

  it.each([
    ['a lower-case name', 'db_password', VALUE, /secret name "db_password" must be 1-100 upper-case letters, digits or "_", starting with a letter/],
    ['a name starting with a digit', '1PASSWORD', VALUE, /must be 1-100 upper-case letters/],
    ['a name starting with "_"', '_PASSWORD', VALUE, /must be 1-100 upper-case letters/],
    ['a name of 101 characters', `A${'B'.repeat(100)}`, VALUE, /must be 1-100 upper-case letters/],
    ['a platform name', 'FLUXO_TOKEN', VALUE, /secret name "FLUXO_TOKEN" is reserved/],
    ['an empty value', 'DB_PASSWORD', '', /secret DB_PASSWORD: the value is empty; delete the secret instead/],
    ['a value over 64 KiB', 'DB_PASSWORD', `${VALUE}${'x'.repeat(MAX_SECRET_VALUE_BYTES)}`, /the value is 65569 bytes; at most 65536 \(64 KiB\)/],
    ['a value with NUL', 'DB_PASSWORD', `${VALUE}\0`, /the value contains a NUL character/],
  ])('refuses %s without echoing the value or storing anything', async (_, name, value, message) => {
    const { store, secrets } = await setup();
    const refusal = await refusalOf(secrets.set(tenantAdmin, { name, value }));
    expect(refusal).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
    expect(refusal.message).not.toContain(VALUE);
    expect(await rawRows(store)).toEqual([]);
  });

  it('accepts a value of exactly 64 KiB', async () => {
    const { secrets } = await setup();
    const value = 'é'.repeat(MAX_SECRET_VALUE_BYTES / 2);
    await secrets.set(tenantAdmin, { name: 'BIG', value });
    expect(await secrets.valuesFor('rj-smtr', ['BIG'])).toEqual([{ name: 'BIG', value }]);
  });

  it('without a key refuses to set, list or hand out stored values, says how to configure one, and still deletes', async () => {
    const keyed = await setup();
    await keyed.secrets.set(tenantAdmin, { name: 'DB_PASSWORD', value: VALUE });
    const keyless = new TenantSecrets(keyed.store.secrets, null);
    const howTo = /this server has no secrets key.*`fluxo keys init`.*--secrets-key-file \(FLUXO_SECRETS_KEY_FILE\)/;
    expect(await refusalOf(keyless.set(tenantAdmin, { name: 'API_TOKEN', value: VALUE }))).toMatchObject({ code: 'SECRETS_UNAVAILABLE', message: expect.stringMatching(howTo) });
    expect(await refusalOf(keyless.list(developer))).toMatchObject({ code: 'SECRETS_UNAVAILABLE', message: expect.stringMatching(howTo) });
    expect(await refusalOf(keyless.valuesFor('rj-smtr', ['DB_PASSWORD']))).toMatchObject({
      code: 'SECRETS_UNAVAILABLE',
      message: expect.stringMatching(/^the flow needs stored secret DB_PASSWORD, but this server has no secrets key/),
    });
    // Declared names the tenant never stored need no key: the agent may supply them.
    expect(await keyless.valuesFor('rj-smtr', ['NOT_STORED'])).toEqual([]);
    // Roles are checked before the key.
    expect(await refusalOf(keyless.list(viewer))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await keyless.delete(tenantAdmin, 'DB_PASSWORD')).toBe(true);
  });

  it('re-encrypts values of older keys with the newest one after a rotation', async () => {
    const v1 = keyring(1);
    const { store, secrets } = await setup(v1);
    await secrets.set(tenantAdmin, { name: 'DB_PASSWORD', value: VALUE });
    await secrets.set(otherAdmin, { name: 'API_TOKEN', value: 'escritorio-token' });
    const v2 = new Uint8Array(randomBytes(32));
    const rotated = new TenantSecrets(store.secrets, new SecretCipher({ current: 2, keys: new Map([...v1.keys, [2, v2]]) }));
    expect(await rotated.rekey(1)).toBe(2);
    expect((await rawRows(store)).map((r) => r.key_version)).toEqual([2, 2]);
    expect(await rotated.rekey()).toBe(0);
    // The old key line can go: everything opens with version 2 alone.
    const onlyV2 = new TenantSecrets(store.secrets, new SecretCipher({ current: 2, keys: new Map([[2, v2]]) }));
    expect(await onlyV2.valuesFor('rj-smtr', ['DB_PASSWORD'])).toEqual([{ name: 'DB_PASSWORD', value: VALUE }]);
    expect(await onlyV2.valuesFor('rj-escritorio', ['API_TOKEN'])).toEqual([{ name: 'API_TOKEN', value: 'escritorio-token' }]);
  });
});
