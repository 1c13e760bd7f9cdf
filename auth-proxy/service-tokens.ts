// Verifying fluxo service tokens (`fxs_<id>_<secret>`) in the proxy. Only the server knows them
// (it keeps their hashes), so the proxy asks it over the internal route
// POST /internal/service-tokens/verify, with its proxy credential, and caches the answer.
//
// The cache is what "a revocation takes effect within one access-token lifetime" means here: an
// accepted token is remembered for `cacheSeconds` (30 s by default), so a revoked token is refused
// at the latest `cacheSeconds` after `fluxo token revoke`. Refusals are remembered for
// `negativeCacheSeconds`, so a client retrying a bad token in a loop costs the server little.
import { createHash } from 'node:crypto';
import { FluxoError, type ErrorCode } from '../common/errors.js';
import { isRole, kindOf, PROXY_CREDENTIAL_HEADER, signProxyCredential, type Identity } from '../common/identity.js';
import type { VerifiedToken } from './verified-token.js';
import { parseServiceToken } from '../common/service-token-format.js';

/** Settings of {@link createServiceTokenVerifier}. */
export interface ServiceTokenVerifierOptions {
  /** The fluxo server's base URL (the proxy's upstream). */
  upstream: URL;
  /** The secret the proxy shares with the server (at least 32 bytes). */
  identitySecret: Uint8Array;
  /** How long an accepted token is trusted without asking again: the longest a revoked token keeps working. @default 30 */
  cacheSeconds?: number;
  /** How long a refused token is refused without asking again. @default 5 */
  negativeCacheSeconds?: number;
  /** Most tokens remembered; the oldest entry goes first. @default 10000 */
  maxEntries?: number;
  /** How long to wait for the server. @default 5000 */
  timeoutMs?: number;
}

/** Checks a service token's bearer value (without `Bearer `). */
export type ServiceTokenVerifier = (token: string) => Promise<VerifiedToken>;

interface CacheEntry {
  until: number;
  verified?: VerifiedToken;
  refusal?: FluxoError;
}

/**
 * Builds a verifier that asks the server and caches its answers, keyed by the token's sha256 (the
 * cache never holds a bearer value).
 *
 * @example const verify = createServiceTokenVerifier({ upstream: new URL('http://127.0.0.1:4200'), identitySecret })
 */
export function createServiceTokenVerifier(options: ServiceTokenVerifierOptions): ServiceTokenVerifier {
  const { upstream, identitySecret, cacheSeconds = 30, negativeCacheSeconds = 5, maxEntries = 10_000, timeoutMs = 5_000 } = options;
  if (!(upstream instanceof URL)) throw new TypeError('upstream must be a URL');
  if (!(identitySecret instanceof Uint8Array) || identitySecret.byteLength < 32) throw new TypeError('identitySecret must be a Uint8Array of at least 32 bytes');
  if (!(cacheSeconds >= 0) || !(negativeCacheSeconds >= 0)) throw new TypeError('cacheSeconds and negativeCacheSeconds must be 0 or more');
  const endpoint = new URL('/internal/service-tokens/verify', upstream);
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<VerifiedToken>>();
  let credential: { value: string; renewAt: number } | undefined;

  const credentialNow = async (): Promise<string> => {
    // Credentials live 60 s; a fresh one every 30 s keeps the HMAC off the hot path.
    if (!credential || credential.renewAt <= Date.now()) credential = { value: await signProxyCredential(identitySecret), renewAt: Date.now() + 30_000 };
    return credential.value;
  };

  const remember = (key: string, entry: CacheEntry): void => {
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  };

  const ask = async (token: string): Promise<VerifiedToken> => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PROXY_CREDENTIAL_HEADER]: await credentialNow() },
        body: JSON.stringify({ token }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new FluxoError('SERVICE_UNAVAILABLE', `the fluxo server could not be reached to verify a service token (${(error as Error).message}); retry shortly`, { cause: error });
    }
    const body = (await response.json().catch(() => null)) as
      | { identity?: Identity; expiresAtMs?: number | null; tokenId?: string; errors?: { message?: string; extensions?: { code?: string } }[] }
      | null;
    if (response.status === 200 && body?.identity && isRole(body.identity.role) && typeof body.tokenId === 'string') {
      const identity: Identity = { subject: body.identity.subject, tenant: body.identity.tenant, role: body.identity.role };
      return { identity, kind: kindOf(identity.role), expiresAtMs: body.expiresAtMs ?? Infinity, tokenId: body.tokenId, source: 'service' };
    }
    const code = body?.errors?.[0]?.extensions?.code;
    const message = body?.errors?.[0]?.message ?? `HTTP ${response.status}`;
    if (typeof code === 'string' && code.startsWith('TOKEN_')) throw new FluxoError(code as ErrorCode, message);
    if (code === 'IDENTITY_MISSING') {
      throw new FluxoError('SERVICE_UNAVAILABLE', 'the fluxo server refused the proxy\'s credential: the proxy and the server must share the same identity secret (keys directory)');
    }
    throw new FluxoError('SERVICE_UNAVAILABLE', `the fluxo server could not verify a service token (${message}); retry shortly`);
  };

  return async (token) => {
    // Checked here too, so garbage never costs a round trip to the server.
    if (!parseServiceToken(token)) {
      throw new FluxoError('TOKEN_INVALID', 'the service token is malformed; copy it exactly as `fluxo token create` printed it (fxs_<id>_<secret>)');
    }
    const key = createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const cached = cache.get(key);
    if (cached && cached.until > now) {
      if (cached.refusal) throw cached.refusal;
      if (cached.verified!.expiresAtMs > now) return cached.verified!;
    }
    let pending = inFlight.get(key);
    if (!pending) {
      pending = ask(token).then(
        (verified) => {
          remember(key, { until: Math.min(Date.now() + cacheSeconds * 1000, verified.expiresAtMs), verified });
          return verified;
        },
        (error: unknown) => {
          // Only the server's verdicts are cached; an outage is asked about again next time.
          if (error instanceof FluxoError && error.code.startsWith('TOKEN_')) remember(key, { until: Date.now() + negativeCacheSeconds * 1000, refusal: error });
          throw error;
        },
      );
      inFlight.set(key, pending);
      void pending.finally(() => inFlight.delete(key)).catch(() => undefined);
    }
    return pending;
  };
}
