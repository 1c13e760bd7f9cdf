// Bearer-token verification: the Authorization header in, a verified identity out, or a
// FluxoError whose code names the one thing wrong with the token and whose message says what to do.
//
// The checks follow RFC 8725 (JWT Best Current Practices) and run in a fixed order, cheapest and
// least trusting first, so every refusal has exactly one code:
//
//   TOKEN_MISSING                no `Authorization: Bearer <token>`
//   (fxs_…)                      a fluxo service token: handed whole to the service-token verifier
//   TOKEN_INVALID                not a compact JWS (header and payload are decoded, not trusted)
//   TOKEN_UNSIGNED               alg none
//   TOKEN_HEADER_FORBIDDEN       jku, x5u, jwk, x5c or crit: the token names its own key; never followed
//   TOKEN_ALGORITHM_NOT_ALLOWED  alg outside the allow-list of the issuer the token claims (never HS*)
//   TOKEN_TYPE_INVALID           typ is not one the issuer issues for API access (RFC 8725 §3.11)
//   TOKEN_CLAIM_MISSING / TOKEN_ISSUER_MISMATCH   no iss / an iss that is not trusted
//   TOKEN_KEY_UNKNOWN            kid names no key of that issuer (OIDC: after one refetch, cooldown permitting)
//   IDENTITY_PROVIDER_UNAVAILABLE  the issuer's keys cannot be fetched and the cached ones are too old
//   TOKEN_SIGNATURE_INVALID      the signature does not verify
//   TOKEN_CLAIM_MISSING          exp, iss, aud, sub or a claim the issuer's mapping reads is absent
//   TOKEN_AUDIENCE_MISMATCH, TOKEN_NOT_YET_VALID, TOKEN_EXPIRED   aud, nbf, exp (with the clock tolerance)
//   TOKEN_INVALID / TOKEN_TYPE_INVALID   tenant, role, labels unacceptable / a fluxo token whose typ and role disagree
//
// Everything before the signature check reads unverified data, and only ever to refuse: a token is
// accepted on verified claims alone. Successful verifications are cached (token-cache.ts).
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  errors as joseErrors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { FluxoError } from '../common/errors.js';
import { kindOf, type Identity, type Role, type TokenKind } from '../common/identity.js';
import { resolveOidcIssuers, type OidcIssuerConfig } from './auth-config.js';
import {
  ALLOWED_ALGORITHMS,
  BASE_REQUIRED_CLAIMS,
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_ISSUER,
  FLUXO_TOKEN_TYPES,
  FORBIDDEN_HEADER_PARAMETERS,
  MAX_CLOCK_TOLERANCE_SECONDS,
  labelsProblem,
  normalizeTokenType,
  roleProblem,
  subjectProblem,
  tenantProblem,
} from './claims.js';
import { createOidcIssuer } from './oidc-issuer.js';
import { isServiceToken } from '../common/service-token-format.js';
import { createTokenCache } from './token-cache.js';
import type { TokenSource, VerifiedToken } from './verified-token.js';

export type { VerifiedToken } from './verified-token.js';

/** Settings of a verifier. */
export interface TokenVerifierOptions {
  /** The keys directory's JWKS: verifies fluxo-signed tokens (`fluxo token sign`), selected by `kid`. */
  publicKeys: JSONWebKeySet;
  /** `iss` of fluxo-signed tokens. @default 'fluxo' */
  issuer?: string;
  /** `aud` of fluxo-signed tokens. @default 'fluxo-api' */
  audience?: string;
  /** Accepted clock skew for exp, nbf and iat, 0 to 300. @default 30 */
  clockToleranceSeconds?: number;
  /** Trusted OpenID providers (usually from `loadAuthConfig`). @default [] */
  oidcIssuers?: OidcIssuerConfig[];
  /** Verifies `fxs_…` service tokens; without it they are refused with TOKEN_INVALID. */
  serviceTokens?: (token: string) => Promise<VerifiedToken>;
  /** How many verified tokens to remember; 0 verifies every request. @default 10000 */
  cacheEntries?: number;
  /** The clock, in milliseconds since the epoch (tests freeze it). @default Date.now */
  now?: () => number;
}

/** Checks an `Authorization` header value. */
export type TokenVerifier = (authorization: string | undefined) => Promise<VerifiedToken>;

/**
 * One issuer the verifier trusts: what its tokens must look like, where their keys come from and
 * how their verified claims become an identity. `createOidcIssuer` builds one per OpenID provider;
 * fluxo's own keys directory is another.
 */
export interface TrustedIssuer {
  /** Compared exactly with `iss`. */
  issuer: string;
  audience: string;
  algorithms: readonly string[];
  /** Accepted `typ` values, normalised (normalizeTokenType). */
  tokenTypes: readonly string[];
  /** Claims that must be present (checked after the signature). */
  requiredClaims: readonly string[];
  source: TokenSource;
  /** How a caller gets a good token from this issuer, appended to refusals. */
  renewal: string;
  /** Why the token is not the kind of token this issuer issues for API access, or undefined. */
  typeProblem(header: JWSHeaderParameters, payload: JWTPayload): string | undefined;
  /** The verification key; throws TOKEN_KEY_UNKNOWN or IDENTITY_PROVIDER_UNAVAILABLE. */
  keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  /** The identity of a verified payload; throws TOKEN_INVALID or TOKEN_TYPE_INVALID. */
  identityOf(payload: JWTPayload, header: JWSHeaderParameters): { identity: Identity; kind: TokenKind };
}

/**
 * Builds a verifier over fluxo's public keys and any configured OpenID providers. Keys are never
 * taken from the token: `jku`, `x5u`, `jwk`, `x5c` (and `crit`) are refused outright.
 *
 * @example
 * const verify = createTokenVerifier({ publicKeys, oidcIssuers: (await loadAuthConfig('auth.json')).oidcIssuers })
 * const { identity, kind } = await verify(req.headers.authorization)
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!options?.publicKeys || !Array.isArray(options.publicKeys.keys)) throw new TypeError('createTokenVerifier needs publicKeys as a JWKS ({ keys: [...] })');
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0 || clockTolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw new FluxoError(
      'BAD_USER_INPUT',
      `the clock tolerance must be 0 to ${MAX_CLOCK_TOLERANCE_SECONDS} seconds (got ${String(clockTolerance)}); fix the clocks (NTP) rather than accepting tokens long after they expire`,
    );
  }
  const now = options.now ?? Date.now;
  const fluxo = fluxoIssuer(options.publicKeys, options.issuer ?? DEFAULT_ISSUER, options.audience ?? DEFAULT_AUDIENCE);
  const issuers = new Map<string, TrustedIssuer>([[fluxo.issuer, fluxo]]);
  for (const config of resolveOidcIssuers(options.oidcIssuers ?? [])) {
    if (issuers.has(config.issuer)) throw new FluxoError('BAD_USER_INPUT', `OIDC issuer ${JSON.stringify(config.issuer)} is the issuer of fluxo-signed tokens; give it its own issuer URL`);
    issuers.set(config.issuer, createOidcIssuer(config));
  }
  // What any trusted issuer would accept: the checks that run before the issuer is known use these.
  const anyAlgorithm = new Set([...issuers.values()].flatMap((trusted) => trusted.algorithms));
  const anyTokenType = new Set([...issuers.values()].flatMap((trusted) => trusted.tokenTypes));
  const cache = createTokenCache({ maxEntries: options.cacheEntries });

  const verifyJwt = async (token: string): Promise<{ verified: VerifiedToken; expMs: number }> => {
    const header = decoded(() => decodeProtectedHeader(token), 'header');
    if (typeof header.alg === 'string' && header.alg.toLowerCase() === 'none') {
      throw new FluxoError('TOKEN_UNSIGNED', 'the token is unsigned (alg "none"); the proxy accepts only signed tokens: sign one with `fluxo token sign`, create a service token with `fluxo token create`, or use your identity provider\'s access token');
    }
    const forbidden = FORBIDDEN_HEADER_PARAMETERS.filter((name) => name in header);
    if (forbidden.length > 0) {
      throw new FluxoError(
        'TOKEN_HEADER_FORBIDDEN',
        `the token's header carries ${forbidden.map((name) => `"${name}"`).join(', ')}; the proxy never takes keys or extensions from a token (RFC 8725 §3.10): send a token whose header has only alg, typ and kid`,
      );
    }
    const claimed = decoded(() => decodeJwt(token), 'payload');
    const trusted = typeof claimed.iss === 'string' ? issuers.get(claimed.iss) : undefined;

    const algorithms = trusted ? trusted.algorithms : [...anyAlgorithm];
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw new FluxoError(
        'TOKEN_ALGORITHM_NOT_ALLOWED',
        `the token's algorithm ${JSON.stringify(header.alg ?? null)} is not allowed${trusted ? ` for ${trusted.issuer}` : ''} (accepted: ${algorithms.join(', ')}; symmetric HS* algorithms never are); ${trusted?.renewal ?? 'use a token from a trusted issuer'}`,
      );
    }
    const typeProblem = trusted ? trusted.typeProblem(header, claimed) : untrustedTypeProblem(header, anyTokenType);
    if (typeProblem) throw new FluxoError('TOKEN_TYPE_INVALID', typeProblem);
    if (claimed.iss === undefined) throw new FluxoError('TOKEN_CLAIM_MISSING', `the token has no "iss" claim; ${fluxo.renewal}`);
    if (!trusted) {
      throw new FluxoError('TOKEN_ISSUER_MISMATCH', `the token's issuer ${JSON.stringify(claimed.iss)} is not trusted by this proxy (trusted: ${[...issuers.keys()].join(', ')}); use a token from one of them`);
    }

    const [protectedPart, payloadPart, signature] = token.split('.') as [string, string, string];
    const key = await trusted.keyFor(header, { protected: protectedPart, payload: payloadPart, signature });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [...trusted.algorithms],
        issuer: trusted.issuer,
        audience: trusted.audience,
        requiredClaims: [...trusted.requiredClaims],
        clockTolerance,
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw refusalOf(error, trusted);
    }
    const { identity, kind } = trusted.identityOf(payload, header);
    const exp = payload.exp as number;
    return {
      verified: {
        identity,
        kind,
        expiresAtMs: (exp + clockTolerance) * 1000,
        source: trusted.source,
        ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
      },
      expMs: exp * 1000,
    };
  };

  return async (authorization) => {
    const token = bearerTokenOf(authorization);
    if (isServiceToken(token)) {
      if (!options.serviceTokens) throw new FluxoError('TOKEN_INVALID', 'this proxy does not accept fluxo service tokens (fxs_…); use a JWT from `fluxo token sign` or your identity provider');
      return options.serviceTokens(token);
    }
    const cached = cache.get(token, now());
    if (cached) return cached;
    const { verified, expMs } = await verifyJwt(token);
    cache.set(token, verified, expMs, now());
    return verified;
  };
}

/** fluxo's own issuer: the keys directory's public keys, fluxo claims, kind-specific `typ`. */
function fluxoIssuer(publicKeys: JSONWebKeySet, issuer: string, audience: string): TrustedIssuer {
  const keys = createLocalJWKSet(publicKeys);
  const renewal = 'sign a new token with `fluxo token sign`';
  const tokenTypes = Object.values(FLUXO_TOKEN_TYPES);
  return {
    issuer,
    audience,
    algorithms: ALLOWED_ALGORITHMS,
    tokenTypes,
    requiredClaims: [...BASE_REQUIRED_CLAIMS, 'tenant', 'role'],
    source: 'fluxo',
    renewal,

    typeProblem(header) {
      if (typeof header.typ === 'string' && tokenTypes.includes(normalizeTokenType(header.typ))) return undefined;
      return `the token's typ ${header.typ === undefined ? 'is missing' : JSON.stringify(header.typ)}; fluxo tokens are typed ${tokenTypes.join(' or ')}: ${renewal}`;
    },

    async keyFor(header, token) {
      try {
        return await keys(header, token);
      } catch (error) {
        if (error instanceof joseErrors.JWKSNoMatchingKey) {
          throw new FluxoError('TOKEN_KEY_UNKNOWN', `the token's kid ${JSON.stringify(header.kid ?? null)} (alg ${header.alg}) names no key in the proxy's public key set; ${renewal} with the current signing key, or add its public key to the set`, { cause: error });
        }
        if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
          throw new FluxoError('TOKEN_KEY_UNKNOWN', `the token has no kid and several keys of the proxy's public key set could verify it; ${renewal}`, { cause: error });
        }
        throw new FluxoError('TOKEN_INVALID', `the token's key cannot be selected (${(error as Error).message}); ${renewal}`, { cause: error });
      }
    },

    identityOf(payload, header) {
      const problem = subjectProblem(payload.sub) ?? tenantProblem(payload.tenant) ?? roleProblem(payload.role) ?? labelsProblem(payload.labels);
      if (problem) throw new FluxoError('TOKEN_INVALID', `the token's claims are not acceptable: ${problem}; ${renewal}`);
      const role = payload.role as Role;
      const kind = kindOf(role);
      if (normalizeTokenType(header.typ as string) !== FLUXO_TOKEN_TYPES[kind]) {
        throw new FluxoError('TOKEN_TYPE_INVALID', `the token grants role "${role}" but is typed ${JSON.stringify(header.typ)}; ${kind} tokens are typed ${FLUXO_TOKEN_TYPES[kind]}: ${renewal}`);
      }
      return { identity: { subject: payload.sub as string, tenant: payload.tenant as string, role }, kind };
    },
  };
}

function untrustedTypeProblem(header: JWSHeaderParameters, anyTokenType: ReadonlySet<string>): string | undefined {
  if (typeof header.typ === 'string' && anyTokenType.has(normalizeTokenType(header.typ))) return undefined;
  return `the token's typ ${header.typ === undefined ? 'is missing' : JSON.stringify(header.typ)}; this proxy accepts only tokens typed ${[...anyTokenType].join(', ')}`;
}

/** Decodes without verifying; a token that cannot even be decoded is TOKEN_INVALID. */
function decoded<T>(decode: () => T, part: 'header' | 'payload'): T {
  try {
    return decode();
  } catch (error) {
    throw new FluxoError('TOKEN_INVALID', `the token is malformed (its ${part} cannot be decoded: ${(error as Error).message}); send the JWT exactly as it was issued`, { cause: error });
  }
}

/** Extracts the token from `Bearer <token>`; TOKEN_MISSING when there is none. */
function bearerTokenOf(authorization: string | undefined): string {
  if (!authorization || authorization.trim() === '') {
    throw new FluxoError('TOKEN_MISSING', 'no bearer token: send "Authorization: Bearer <token>" (a service token from `fluxo token create`, a JWT from `fluxo token sign`, or your identity provider\'s access token)');
  }
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    throw new FluxoError('TOKEN_MISSING', 'the Authorization header is not a bearer token: send "Authorization: Bearer <token>"');
  }
  return match[1]!;
}

/** Maps a failure of jwtVerify (signature, then claims) to its code, with a message a person can act on. */
function refusalOf(error: unknown, trusted: TrustedIssuer): FluxoError {
  const { renewal } = trusted;
  if (!(error instanceof joseErrors.JOSEError)) {
    return new FluxoError('TOKEN_INVALID', `the token could not be verified (${(error as Error)?.message ?? 'unknown error'}); ${renewal}`, { cause: error });
  }
  const failure = error as joseErrors.AnyJOSEError;
  switch (failure.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new FluxoError('TOKEN_SIGNATURE_INVALID', `the token's signature does not verify (altered, or signed by another key with the same kid); ${renewal}`, { cause: error });
    case 'ERR_JWT_EXPIRED':
      return new FluxoError('TOKEN_EXPIRED', `the token expired${instant(failure.payload.exp, ' at')}; ${renewal}`, { cause: error });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      if (failure.reason === 'missing') {
        const why = (BASE_REQUIRED_CLAIMS as readonly string[]).includes(failure.claim) ? 'every token must carry it' : `${trusted.issuer}'s claim mapping reads it`;
        return new FluxoError('TOKEN_CLAIM_MISSING', `the token has no "${failure.claim}" claim (${why}); ${renewal}`, { cause: error });
      }
      if (failure.claim === 'aud' && failure.reason === 'check_failed') {
        return new FluxoError('TOKEN_AUDIENCE_MISMATCH', `the token's audience ${JSON.stringify(failure.payload.aud)} does not include "${trusted.audience}"; request a token for "${trusted.audience}"`, { cause: error });
      }
      if (failure.claim === 'nbf' && failure.reason === 'check_failed') {
        return new FluxoError('TOKEN_NOT_YET_VALID', `the token is not valid yet${instant(failure.payload.nbf, ' (nbf')}${typeof failure.payload.nbf === 'number' ? ')' : ''}; check the clocks of the issuer and the proxy, or wait`, { cause: error });
      }
      return new FluxoError('TOKEN_INVALID', `the token's "${failure.claim}" claim is not acceptable (${failure.message}); ${renewal}`, { cause: error });
    }
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new FluxoError('TOKEN_INVALID', `the token is malformed (${failure.message}); send the JWT exactly as it was issued`, { cause: error });
    default:
      return new FluxoError('TOKEN_INVALID', `the token could not be verified (${failure.code}); ${renewal}`, { cause: error });
  }
}

function instant(seconds: unknown, before: string): string {
  return typeof seconds === 'number' ? `${before} ${new Date(seconds * 1000).toISOString()}` : '';
}
