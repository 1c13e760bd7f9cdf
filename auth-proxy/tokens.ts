// Minting fluxo bearer tokens (`fluxo token sign`). Tokens are JWTs signed with the private key
// of the keys directory (common/keys.ts); the proxy verifies them against the public key set.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { FluxoError } from '../common/errors.js';
import { kindOf, type Role } from '../common/identity.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, FLUXO_TOKEN_TYPES, labelsProblem, roleProblem, subjectProblem, tenantProblem } from './claims.js';

/** Default token lifetime: one hour. @default 3600 */
export const DEFAULT_TTL_SECONDS = 3600;
/** Shortest lifetime accepted. */
export const MIN_TTL_SECONDS = 1;
/** Longest lifetime accepted: 365 days. */
export const MAX_TTL_SECONDS = 365 * 24 * 3600;

/** What a token grants. */
export interface TokenRequest {
  /** The tenant (agency) the token is confined to, e.g. `rj-smtr`. */
  tenant: string;
  /** admin | tenant-admin | developer | viewer | agent | ci. */
  role: Role | string;
  /** Who holds it. @default `${role}@${tenant}` */
  subject?: string;
  /** Informational labels (e.g. the labels an agent token is meant for). */
  labels?: string[];
  /** Lifetime in seconds, 1 s to 365 days. @default 3600 */
  ttlSeconds?: number;
  /** @default 'fluxo' */
  issuer?: string;
  /** @default 'fluxo-api' */
  audience?: string;
}

/** A minted token. */
export interface CreatedToken {
  token: string;
  /** ISO-8601 instant of `exp`. */
  expiresAt: string;
}

/**
 * Signs a token with an asymmetric private JWK (Ed25519 → EdDSA, P-256 → ES256, RSA → RS256).
 * The `typ` header names the token's kind (`fluxo-agent+jwt` for the agent role, `fluxo-user+jwt`
 * otherwise); the proxy refuses a token whose typ and role disagree.
 *
 * @example
 * const { token } = await createToken({ tenant: 'rj-smtr', role: 'developer' }, await loadPrivateSigningKey(path))
 */
export async function createToken(request: TokenRequest, privateJwk: JWK): Promise<CreatedToken> {
  if (!privateJwk || typeof privateJwk !== 'object') throw new TypeError('createToken needs a private JWK');
  validateTokenRequest(request);
  const ttlSeconds = request.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const subject = request.subject ?? `${request.role}@${request.tenant}`;

  const alg = algorithmOf(privateJwk);
  if (!privateJwk.kid) throw new FluxoError('BAD_USER_INPUT', 'the private signing key has no "kid"; the proxy selects keys by kid');
  let key;
  try {
    key = await importJWK(privateJwk, alg);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `the private signing key cannot be used for ${alg}: ${(error as Error).message}`, { cause: error });
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlSeconds;
  const claims: Record<string, unknown> = { tenant: request.tenant, role: request.role };
  if (request.labels && request.labels.length > 0) claims.labels = request.labels;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg, kid: privateJwk.kid, typ: FLUXO_TOKEN_TYPES[kindOf(request.role as Role)] })
    .setIssuer(request.issuer ?? DEFAULT_ISSUER)
    .setAudience(request.audience ?? DEFAULT_AUDIENCE)
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(key);
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * Checks tenant, role, subject, labels and ttl; throws FluxoError BAD_USER_INPUT naming the first
 * problem. `createToken` calls it; callers may call it first to report input errors before
 * reading key files.
 */
export function validateTokenRequest(request: TokenRequest): void {
  if (!request || typeof request !== 'object') throw new TypeError('a token request must be an object');
  const problem =
    tenantProblem(request.tenant) ??
    roleProblem(request.role) ??
    subjectProblem(request.subject ?? `${request.role}@${request.tenant}`) ??
    labelsProblem(request.labels) ??
    ttlProblem(request.ttlSeconds ?? DEFAULT_TTL_SECONDS);
  if (problem) throw new FluxoError('BAD_USER_INPUT', problem);
}

/**
 * Parses a lifetime like `90s`, `30m`, `1h`, `7d` (or plain seconds, `3600`) into seconds.
 * Throws FluxoError BAD_USER_INPUT for anything else or a value outside 1 s..365 d.
 *
 * @example parseTtl('7d') // 604800
 */
export function parseTtl(text: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text);
  if (!match) throw new FluxoError('BAD_USER_INPUT', `ttl ${JSON.stringify(text)} is not a duration: use a number with s, m, h or d (90s, 30m, 1h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  const problem = ttlProblem(seconds);
  if (problem) throw new FluxoError('BAD_USER_INPUT', problem);
  return seconds;
}

function ttlProblem(seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_TTL_SECONDS || seconds > MAX_TTL_SECONDS) {
    return `ttl must be a whole number of seconds between ${MIN_TTL_SECONDS} and ${MAX_TTL_SECONDS} (365 days); got ${String(seconds)}`;
  }
  return undefined;
}

/** The JWS algorithm for a private JWK; only algorithms the proxy accepts. */
function algorithmOf(jwk: JWK): 'EdDSA' | 'ES256' | 'RS256' {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new FluxoError('BAD_USER_INPUT', `the private signing key (kty ${String(jwk.kty)}, crv ${String(jwk.crv)}) is not Ed25519, P-256 or RSA`);
}
