// Bearer-token verification: the Authorization header in, a verified identity out, or a
// FluxoError whose code (TOKEN_MISSING, TOKEN_EXPIRED, TOKEN_INVALID) and message say what to fix.
import { createLocalJWKSet, jwtVerify, errors as joseErrors, type JSONWebKeySet, type JWTPayload } from 'jose';
import { FluxoError } from '../common/errors.js';
import { kindOf, type Identity } from '../common/identity.js';
import type { VerifiedToken } from './verified-token.js';

export type { VerifiedToken } from './verified-token.js';
import { ALLOWED_ALGORITHMS, DEFAULT_AUDIENCE, DEFAULT_ISSUER, labelsProblem, roleProblem, subjectProblem, tenantProblem } from './claims.js';

/** Settings of a verifier. */
export interface TokenVerifierOptions {
  /** The JWKS of trusted public keys; keys are selected by `kid` and `alg`. */
  publicKeys: JSONWebKeySet;
  /** @default 'fluxo' */
  issuer?: string;
  /** @default 'fluxo-api' */
  audience?: string;
  /** Accepted clock skew for exp, nbf and iat. @default 30 */
  clockToleranceSeconds?: number;
}

/** Checks an `Authorization` header value. */
export type TokenVerifier = (authorization: string | undefined) => Promise<VerifiedToken>;

/**
 * Builds a verifier over a local key set. Keys are never fetched: `jku`, `x5u` and embedded `jwk`
 * headers are ignored, so a token cannot bring its own key.
 *
 * @example const verify = createTokenVerifier({ publicKeys }); const { identity } = await verify(req.headers.authorization)
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!options?.publicKeys || !Array.isArray(options.publicKeys.keys)) throw new TypeError('createTokenVerifier needs publicKeys as a JWKS ({ keys: [...] })');
  const keys = createLocalJWKSet(options.publicKeys);
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const clockTolerance = options.clockToleranceSeconds ?? 30;

  return async (authorization) => {
    const token = bearerTokenOf(authorization);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer,
        audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance,
      }));
    } catch (error) {
      throw refusalOf(error, { issuer, audience });
    }
    const problem = subjectProblem(payload.sub) ?? tenantProblem(payload.tenant) ?? roleProblem(payload.role) ?? labelsProblem(payload.labels);
    if (problem) throw new FluxoError('TOKEN_INVALID', `the token's claims are not acceptable: ${problem}; create a new token with \`fluxo token create\``);
    return {
      identity: { subject: payload.sub as string, tenant: payload.tenant as string, role: payload.role as Identity['role'] },
      kind: kindOf(payload.role as Identity['role']),
      source: 'fluxo',
      expiresAtMs: ((payload.exp as number) + clockTolerance) * 1000,
      ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
    };
  };
}

/** Extracts the token from `Bearer <token>`; TOKEN_MISSING when there is none. */
function bearerTokenOf(authorization: string | undefined): string {
  if (!authorization || authorization.trim() === '') {
    throw new FluxoError('TOKEN_MISSING', 'no bearer token: send "Authorization: Bearer <token>" (create a token with `fluxo token create`)');
  }
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    throw new FluxoError('TOKEN_MISSING', 'the Authorization header is not a bearer token: send "Authorization: Bearer <token>"');
  }
  return match[1]!;
}

/** Maps a jose failure to a coded refusal with a message a person can act on. */
function refusalOf(error: unknown, expected: { issuer: string; audience: string }): FluxoError {
  const renew = 'create a new token with `fluxo token create`';
  if (!(error instanceof joseErrors.JOSEError)) {
    return new FluxoError('TOKEN_INVALID', `the token could not be verified (${(error as Error)?.message ?? 'unknown error'})`, { cause: error });
  }
  const failure = error as joseErrors.AnyJOSEError;
  switch (failure.code) {
    case 'ERR_JWT_EXPIRED': {
      const exp = typeof failure.payload.exp === 'number' ? ` at ${new Date(failure.payload.exp * 1000).toISOString()}` : '';
      return new FluxoError('TOKEN_EXPIRED', `the token expired${exp}; ${renew}`, { cause: error });
    }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const expectedValue = failure.claim === 'iss' ? ` (expected "${expected.issuer}")` : failure.claim === 'aud' ? ` (expected "${expected.audience}")` : '';
      const what = failure.reason === 'missing' ? 'is missing' : 'is not acceptable';
      return new FluxoError('TOKEN_INVALID', `the token's "${failure.claim}" claim ${what}${expectedValue}; ${renew}`, { cause: error });
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new FluxoError('TOKEN_INVALID', `the token's signature algorithm is not allowed (accepted: ${ALLOWED_ALGORITHMS.join(', ')}); ${renew}`, { cause: error });
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new FluxoError('TOKEN_INVALID', `the token was signed with a key this proxy does not trust (no key in its public key set matches the token's kid and alg); ${renew}`, { cause: error });
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new FluxoError('TOKEN_INVALID', 'the token has no kid and the proxy trusts several keys; sign tokens with a key that has a kid', { cause: error });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new FluxoError('TOKEN_INVALID', `the token's signature does not verify; ${renew}`, { cause: error });
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new FluxoError('TOKEN_INVALID', `the token is malformed (${failure.message}); send the JWT exactly as \`fluxo token create\` printed it`, { cause: error });
    default:
      return new FluxoError('TOKEN_INVALID', `the token could not be verified (${failure.code}); ${renew}`, { cause: error });
  }
}
