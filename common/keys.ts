// The keys directory the auth proxy, the server and `fluxo token create` share:
//
//   identity.secret                   32 random bytes (base64url): proxy signs, server verifies the identity header
//   token-signing.private.jwk.json    Ed25519 private JWK with `kid`: mints bearer tokens (keep offline in production)
//   token-signing.public.jwks.json    {"keys":[public JWK]}: the proxy verifies bearer tokens against it
//   secrets.key                       "<version> <32 bytes base64url>" lines: the server encrypts tenant secrets
//
// Files are created once and never overwritten, so re-running `fluxo keys init` is safe and rotating
// a key is a deliberate act (add the new public key to the JWKS, then switch the signer).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { FluxoError } from './errors.js';

/** Where each key file lives inside a keys directory. */
export interface KeyPaths {
  /** Shared proxy/server secret for the identity header. */
  identitySecret: string;
  /** Private token-signing JWK (Ed25519). */
  privateSigningKey: string;
  /** Public JWKS the proxy trusts. */
  publicKeySet: string;
  /** The server's keys for tenant secrets (AES-256-GCM), by version. */
  secretsKey: string;
}

/** The keys directory used when neither a flag nor FLUXO_KEYS_DIR names one (relative to the working directory). */
export const DEFAULT_KEYS_DIR = 'fluxo-data/keys';

/** Minimum length of the identity secret, matching common/identity.ts. */
const IDENTITY_SECRET_BYTES = 32;

/**
 * The key file paths of a keys directory.
 *
 * @example keyPaths('fluxo-data/keys').publicKeySet // 'fluxo-data/keys/token-signing.public.jwks.json'
 */
export function keyPaths(dir: string): KeyPaths {
  return {
    identitySecret: join(dir, 'identity.secret'),
    privateSigningKey: join(dir, 'token-signing.private.jwk.json'),
    publicKeySet: join(dir, 'token-signing.public.jwks.json'),
    secretsKey: join(dir, 'secrets.key'),
  };
}

/** What `initKeys` did. */
export interface InitKeysResult {
  paths: KeyPaths;
  /** Files written by this call (existing files are kept as they are). */
  created: string[];
}

/**
 * Creates the keys directory and every missing key file. Existing files are never overwritten;
 * secrets are written with mode 0600. When only one half of the signing pair exists, the other is
 * not regenerated (that would produce a pair that does not match): the call fails instead.
 *
 * @example const { created } = await initKeys('fluxo-data/keys')
 */
export async function initKeys(dir: string): Promise<InitKeysResult> {
  if (!dir) throw new TypeError('initKeys needs a directory');
  const paths = keyPaths(dir);
  const created: string[] = [];
  await mkdir(dir, { recursive: true, mode: 0o700 });

  if (await writeIfMissing(paths.identitySecret, `${randomBytes(IDENTITY_SECRET_BYTES).toString('base64url')}\n`, 0o600)) {
    created.push(paths.identitySecret);
  }

  const hasPrivate = await exists(paths.privateSigningKey);
  const hasPublic = await exists(paths.publicKeySet);
  if (hasPrivate !== hasPublic) {
    const [present, missing] = hasPrivate ? [paths.privateSigningKey, paths.publicKeySet] : [paths.publicKeySet, paths.privateSigningKey];
    throw new FluxoError(
      'BAD_USER_INPUT',
      `${present} exists but ${missing} does not; restore the missing file or remove both to generate a new signing pair`,
    );
  }
  if (!hasPrivate) {
    const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };
    const publicSet: JSONWebKeySet = { keys: [{ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }] };
    // A crash between the two writes leaves one half, which the check above reports instead of
    // silently minting a mismatched pair.
    await writeIfMissing(paths.privateSigningKey, `${JSON.stringify(privateJwk, null, 2)}\n`, 0o600);
    await writeIfMissing(paths.publicKeySet, `${JSON.stringify(publicSet, null, 2)}\n`, 0o644);
    created.push(paths.privateSigningKey, paths.publicKeySet);
  }

  if (await writeIfMissing(paths.secretsKey, `${SECRETS_KEY_HEADER}1 ${randomBytes(SECRETS_KEY_BYTES).toString('base64url')}\n`, 0o600)) {
    created.push(paths.secretsKey);
  }
  return { paths, created };
}

/**
 * Reads the identity secret (base64url text of at least 32 bytes).
 *
 * @example const secret = await loadIdentitySecret(keyPaths(dir).identitySecret)
 */
export async function loadIdentitySecret(path: string): Promise<Uint8Array> {
  const text = (await readKeyFile(path, 'identity secret')).trim();
  if (!/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new FluxoError('BAD_USER_INPUT', `identity secret ${path} is not base64url text; create one with \`fluxo keys init\``);
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.byteLength < IDENTITY_SECRET_BYTES) {
    throw new FluxoError('BAD_USER_INPUT', `identity secret ${path} holds ${bytes.byteLength} bytes; at least ${IDENTITY_SECRET_BYTES} are required`);
  }
  return new Uint8Array(bytes);
}

/** The keys that encrypt tenant secrets: every version that may still decrypt, and the one that encrypts. */
export interface SecretsKeyring {
  /** The highest version: new and updated values are encrypted with it. */
  current: number;
  /** 32-byte AES-256 keys by version (1-255). */
  keys: ReadonlyMap<number, Uint8Array>;
}

/** Length of an AES-256 key. */
const SECRETS_KEY_BYTES = 32;

const SECRETS_KEY_HEADER =
  '# fluxo secrets key: "<version> <32 random bytes, base64url>" per line. The highest version encrypts\n' +
  '# new values; keep older lines while values encrypted with them remain (`fluxo secrets rekey`).\n';

/**
 * Reads the secrets key file: one key per line, `<version> <key>` with a version from 1 to 255
 * and a 32-byte key in base64 or base64url; `#` comments. A file holding only a bare key (for
 * example `head -c 32 /dev/urandom | base64`) is version 1. Rotating means adding a line with a
 * higher version: it encrypts from then on, and the older lines keep decrypting what they encrypted.
 *
 * @example const keyring = await loadSecretsKeyring(keyPaths(dir).secretsKey)
 */
export async function loadSecretsKeyring(path: string): Promise<SecretsKeyring> {
  const keys = new Map<number, Uint8Array>();
  const lines = (await readKeyFile(path, 'secrets key')).split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^(?:(\d{1,3})\s+)?([A-Za-z0-9+/_-]+={0,2})$/.exec(trimmed);
    const where = `secrets key ${path} line ${index + 1}`;
    if (!match) throw new FluxoError('BAD_USER_INPUT', `${where} is not "<version> <base64 key>"; create the file with \`fluxo keys init\``);
    const version = match[1] === undefined ? 1 : Number(match[1]);
    if (version < 1 || version > 255) throw new FluxoError('BAD_USER_INPUT', `${where}: the version must be from 1 to 255, got ${version}`);
    if (keys.has(version)) throw new FluxoError('BAD_USER_INPUT', `${where}: version ${version} appears twice`);
    const key = Buffer.from(match[2]!, 'base64');
    if (key.byteLength !== SECRETS_KEY_BYTES) {
      throw new FluxoError('BAD_USER_INPUT', `${where}: the key holds ${key.byteLength} bytes; AES-256 needs exactly ${SECRETS_KEY_BYTES}`);
    }
    keys.set(version, new Uint8Array(key));
  });
  if (keys.size === 0) throw new FluxoError('BAD_USER_INPUT', `secrets key ${path} holds no key; create one with \`fluxo keys init\``);
  return { current: Math.max(...keys.keys()), keys };
}

/**
 * The server's secrets keyring: from `file` when given (it must exist), else from `secrets.key` in
 * `keysDir` when that file exists; null when neither holds one (the server then runs without
 * tenant secrets).
 *
 * @example const found = await findSecretsKeyring({ file: process.env.FLUXO_SECRETS_KEY_FILE, keysDir: 'fluxo-data/keys' })
 */
export async function findSecretsKeyring(from: { file?: string | undefined; keysDir?: string | undefined }): Promise<{ path: string; keyring: SecretsKeyring } | null> {
  const path = from.file ?? (from.keysDir ? keyPaths(from.keysDir).secretsKey : undefined);
  if (path === undefined || (from.file === undefined && !(await exists(path)))) return null;
  return { path, keyring: await loadSecretsKeyring(path) };
}

/**
 * Reads the private token-signing JWK. It must be an asymmetric private key (`d` present) with a `kid`.
 *
 * @example const jwk = await loadPrivateSigningKey(keyPaths(dir).privateSigningKey)
 */
export async function loadPrivateSigningKey(path: string): Promise<JWK> {
  const jwk = parseJson(await readKeyFile(path, 'private signing key'), path, 'private signing key');
  if (!isObject(jwk) || typeof jwk.kty !== 'string' || typeof jwk.d !== 'string') {
    throw new FluxoError('BAD_USER_INPUT', `private signing key ${path} is not a private JWK (needs "kty" and "d")`);
  }
  if (jwk.kty === 'oct') {
    throw new FluxoError('BAD_USER_INPUT', `private signing key ${path} is a symmetric key; fluxo tokens are signed with an asymmetric key (Ed25519, P-256 or RSA)`);
  }
  if (typeof jwk.kid !== 'string' || !jwk.kid) {
    throw new FluxoError('BAD_USER_INPUT', `private signing key ${path} has no "kid"; the proxy selects verification keys by kid`);
  }
  return jwk as JWK;
}

/**
 * Reads the public JWKS the proxy trusts. Every key must be public (no `d`, no symmetric keys).
 *
 * @example const jwks = await loadPublicKeySet(keyPaths(dir).publicKeySet)
 */
export async function loadPublicKeySet(path: string): Promise<JSONWebKeySet> {
  const set = parseJson(await readKeyFile(path, 'public key set'), path, 'public key set');
  if (!isObject(set) || !Array.isArray(set.keys) || set.keys.length === 0) {
    throw new FluxoError('BAD_USER_INPUT', `public key set ${path} is not a JWKS: expected {"keys":[...]} with at least one key`);
  }
  set.keys.forEach((key: unknown, index: number) => {
    if (!isObject(key) || typeof key.kty !== 'string') {
      throw new FluxoError('BAD_USER_INPUT', `public key set ${path}: key ${index} is not a JWK (needs "kty")`);
    }
    if ('d' in key || key.kty === 'oct') {
      throw new FluxoError('BAD_USER_INPUT', `public key set ${path}: key ${index} is private or symmetric; publish only public keys`);
    }
  });
  return set as unknown as JSONWebKeySet;
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'it does not exist; create the keys with `fluxo keys init --dir DIR`' : `cannot be read (${code ?? 'error'})`;
    throw new FluxoError('BAD_USER_INPUT', `${what} ${path}: ${hint}`, { cause: error });
  }
}

function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `${what} ${path} is not valid JSON`, { cause: error });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Writes with O_EXCL semantics ('wx'), so a concurrent init never clobbers a file. */
async function writeIfMissing(path: string, content: string, mode: number): Promise<boolean> {
  try {
    await writeFile(path, content, { flag: 'wx', mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await chmod(path, mode); // the process umask applies to `mode` at creation; make it exact
  return true;
}
