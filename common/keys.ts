// The keys directory the auth proxy, the server and `fluxo token create` share:
//
//   identity.secret                   32 random bytes (base64url): proxy signs, server verifies the identity header
//   token-signing.private.jwk.json    Ed25519 private JWK with `kid`: mints bearer tokens (keep offline in production)
//   token-signing.public.jwks.json    {"keys":[public JWK]}: the proxy verifies bearer tokens against it
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
}

/** The keys directory used when neither a flag nor FLUXO_KEYS_DIR names one (relative to the working directory). */
export const DEFAULT_KEYS_DIR = 'fluxo-data/keys';

/** Minimum length of the identity secret, matching common/identity.ts. */
const IDENTITY_SECRET_BYTES = 32;

/**
 * The three key file paths of a keys directory.
 *
 * @example keyPaths('fluxo-data/keys').publicKeySet // 'fluxo-data/keys/token-signing.public.jwks.json'
 */
export function keyPaths(dir: string): KeyPaths {
  return {
    identitySecret: join(dir, 'identity.secret'),
    privateSigningKey: join(dir, 'token-signing.private.jwk.json'),
    publicKeySet: join(dir, 'token-signing.public.jwks.json'),
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
