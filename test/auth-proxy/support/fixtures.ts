// Keys, tokens and a running proxy for the auth-proxy tests.
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { kindOf, type Role } from '../../../common/identity.js';
import { initKeys, keyPaths, loadIdentitySecret, loadPrivateSigningKey, loadPublicKeySet } from '../../../common/keys.js';
import { createLogger } from '../../../common/logger.js';
import { FLUXO_TOKEN_TYPES } from '../../../auth-proxy/claims.js';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../../auth-proxy/proxy.js';
import { onCleanup, tempDir } from '../../support/harness.js';

export interface Keys {
  dir: string;
  identitySecret: Uint8Array;
  privateJwk: JWK;
  publicKeys: JSONWebKeySet;
}

/** A fresh keys directory made by `initKeys`, loaded back through the loaders. */
export async function freshKeys(): Promise<Keys> {
  const dir = await tempDir('fluxo-keys-');
  await initKeys(dir);
  return loadKeys(dir);
}

/** Loads an existing keys directory. */
export async function loadKeys(dir: string): Promise<Keys> {
  const paths = keyPaths(dir);
  return {
    dir,
    identitySecret: await loadIdentitySecret(paths.identitySecret),
    privateJwk: await loadPrivateSigningKey(paths.privateSigningKey),
    publicKeys: await loadPublicKeySet(paths.publicKeySet),
  };
}

/** A proxy in this process in front of `upstreamUrl`, closed after the test. */
export async function startTestProxy(keys: Keys, upstreamUrl: string, options: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
  const proxy = await startProxy({
    upstreamUrl,
    publicKeys: keys.publicKeys,
    identitySecret: keys.identitySecret,
    logger: createLogger('proxy', process.env.FLUXO_LOG_LEVEL ?? 'silent'),
    shutdownGraceMs: 1_000,
    ...options,
  });
  onCleanup(() => proxy.close());
  return proxy;
}

/** Standard valid claims; override or delete (set undefined) any of them. */
export function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = {
    iss: 'fluxo',
    aud: 'fluxo-api',
    sub: 'ana@rj-smtr',
    tenant: 'rj-smtr',
    role: 'developer',
    iat: now,
    exp: now + 600,
    ...overrides,
  };
  for (const [name, value] of Object.entries(base)) if (value === undefined) delete base[name];
  return base as JWTPayload;
}

/** Signs arbitrary claims with a private JWK (any header), bypassing createToken's checks; typ follows the role as createToken's does. */
export async function signRaw(payload: JWTPayload, privateJwk: JWK, header: Partial<JWSHeaderParameters> = {}): Promise<string> {
  const alg = header.alg ?? 'EdDSA';
  const typ = FLUXO_TOKEN_TYPES[kindOf(payload.role as Role)];
  return new SignJWT(payload).setProtectedHeader({ alg, kid: privateJwk.kid, typ, ...header }).sign(await importJWK(privateJwk, alg));
}

/** A second Ed25519 private JWK, not trusted by the proxy. */
export async function untrustedJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
}

/** One part of a compact JWS built by hand: the value as base64url-encoded JSON. */
export function part(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWT with `alg: none` and no signature, built by hand (jose refuses to make one). */
export function unsignedToken(payload: JWTPayload): string {
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

/** Parses the proxy's coded error body. */
export function codeAndMessage(body: string): { code: string | undefined; message: string | undefined } {
  const parsed = JSON.parse(body) as { errors?: { message?: string; extensions?: { code?: string } }[] };
  const first = parsed.errors?.[0];
  return { code: first?.extensions?.code, message: first?.message };
}

/** A plain HTTP answer. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request with node:http on a fresh connection. `chunks` sends a chunked body (no
 * content-length); `body` sends a body with content-length.
 */
export async function call(
  url: string,
  { method = 'POST', headers = {}, body, chunks }: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] } = {},
): Promise<Answer> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method, headers, agent: false }, (res) => {
      answered = true;
      const received: Buffer[] = [];
      res.on('data', (chunk: Buffer) => received.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(received).toString('utf8') }));
      res.on('error', reject);
    });
    // The proxy may answer (413) before the whole body is written; once an answer arrived, a
    // write cut short afterwards is not what the test looks at.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (chunks) {
      for (const chunk of chunks) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}
