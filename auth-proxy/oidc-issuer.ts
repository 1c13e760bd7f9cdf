// An OpenID provider the proxy trusts: where its keys are (OpenID Connect Discovery 1.0, or a
// configured jwks_uri), how long they are cached, and what its access tokens must look like.
//
// Keys come from jose's remote JWKS (createRemoteJWKSet), which already implements the cache
// policy fluxo wants: a token whose `kid` is not in the cached set triggers one refetch unless the
// last fetch is younger than `cooldownSeconds` (so a provider's key rotation is picked up without a
// restart, and a flood of forged kids cannot turn the proxy into a load generator against the
// provider), and once the last successful fetch is older than `maxAgeSeconds` every verification
// refetches first and fails when that fails. That failure is answered IDENTITY_PROVIDER_UNAVAILABLE:
// the proxy fails closed instead of trusting keys the provider may have withdrawn.
import { createRemoteJWKSet, errors as joseErrors, type RemoteJWKSet } from 'jose';
import { FluxoError } from '../common/errors.js';
import { kindOf } from '../common/identity.js';
import type { ResolvedOidcIssuerConfig } from './auth-config.js';
import { BASE_REQUIRED_CLAIMS, mapIdentity, mappedClaimNames, normalizeTokenType } from './claims.js';
import type { TrustedIssuer } from './verify-token.js';

/** Claims only an ID token carries (OpenID Connect Core §2, §3.3.2.11): it must never pass as an access token. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash'] as const;

/**
 * Builds a trusted issuer from a resolved config. Nothing is fetched until the first token of this
 * issuer arrives, so the proxy starts while its provider is down (and answers
 * IDENTITY_PROVIDER_UNAVAILABLE for that provider's tokens until it is back).
 *
 * @example const issuer = createOidcIssuer(resolveOidcIssuers([{ issuer: 'https://id.example.gov.br', audience: 'fluxo-api' }])[0]!)
 */
export function createOidcIssuer(config: ResolvedOidcIssuerConfig): TrustedIssuer {
  const keySet = createKeySetLoader(config);
  const tokenTypes = config.tokenTypes.map(normalizeTokenType);
  const renewal = `obtain a new access token from ${config.issuer}`;
  return {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    tokenTypes,
    requiredClaims: [...BASE_REQUIRED_CLAIMS, ...mappedClaimNames(config.claims)],
    source: 'oidc',
    renewal,

    typeProblem(header, payload) {
      const typ = typeof header.typ === 'string' ? normalizeTokenType(header.typ) : undefined;
      if (typ === undefined || !tokenTypes.includes(typ)) {
        return `the token's typ ${typ === undefined ? 'is missing' : JSON.stringify(header.typ)}; ${config.issuer} is trusted for access tokens typed ${config.tokenTypes.join(' or ')} (RFC 9068); send an access token, not an ID token`;
      }
      // A generic typ (`JWT`) does not tell the two apart, so look at the claims (RFC 9068 §4).
      const idTokenClaim = typ === 'at+jwt' ? undefined : ID_TOKEN_CLAIMS.find((claim) => claim in payload);
      if (idTokenClaim) return `the token carries "${idTokenClaim}", so it is an ID token; send an access token issued for ${config.audience}`;
      return undefined;
    },

    async keyFor(header, token) {
      const jwks = await keySet();
      // Whether jose may refetch for an unknown kid is decided before the call; afterwards a refetch
      // would itself have started a new cooldown.
      const refetchAllowed = !jwks.coolingDown;
      try {
        return await jwks(header, token);
      } catch (error) {
        if (error instanceof joseErrors.JWKSNoMatchingKey) {
          const when = refetchAllowed ? 'even after refetching its key set' : `its key set was fetched less than ${config.cooldownSeconds} s ago; retry shortly if the provider just rotated its keys`;
          throw new FluxoError('TOKEN_KEY_UNKNOWN', `the token's kid ${JSON.stringify(header.kid ?? null)} (alg ${header.alg}) names no key ${config.issuer} publishes (${when}); ${renewal}`, { cause: error });
        }
        if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
          throw new FluxoError('TOKEN_KEY_UNKNOWN', `the token has no kid and ${config.issuer} publishes several keys for ${header.alg}; ${renewal}`, { cause: error });
        }
        throw unavailable(config, 'its key set could not be fetched', error);
      }
    },

    identityOf(payload) {
      const mapped = mapIdentity(payload, config.claims);
      if ('problem' in mapped) throw new FluxoError('TOKEN_INVALID', `the token from ${config.issuer} maps to no fluxo identity: ${mapped.problem}`);
      return { identity: mapped.identity, kind: kindOf(mapped.identity.role) };
    },
  };
}

/**
 * The issuer's remote key set, created once its URL is known. A failed discovery is retried by the
 * next token after the cooldown; meanwhile tokens are refused at once with the same error rather
 * than each waiting on an unreachable provider.
 */
function createKeySetLoader(config: ResolvedOidcIssuerConfig): () => Promise<RemoteJWKSet> {
  let loaded: RemoteJWKSet | undefined;
  let pending: Promise<RemoteJWKSet> | undefined;
  let failure: { at: number; error: FluxoError } | undefined;
  const remoteSet = (url: URL): RemoteJWKSet =>
    createRemoteJWKSet(url, {
      cooldownDuration: config.cooldownSeconds * 1000,
      cacheMaxAge: config.maxAgeSeconds * 1000,
      timeoutDuration: Math.round(config.timeoutSeconds * 1000),
    });
  if (config.jwksUri) loaded = remoteSet(new URL(config.jwksUri));

  return async () => {
    if (loaded) return loaded;
    if (failure && Date.now() - failure.at < config.cooldownSeconds * 1000) throw failure.error;
    pending ??= discoverJwksUri(config).then(
      (url) => {
        loaded = remoteSet(url);
        failure = undefined;
        return loaded;
      },
      (error: FluxoError) => {
        failure = { at: Date.now(), error };
        throw error;
      },
    );
    try {
      return await pending;
    } finally {
      pending = undefined;
    }
  };
}

/** Reads `jwks_uri` from the discovery document, checking it describes this issuer (Discovery §4.3). */
async function discoverJwksUri(config: ResolvedOidcIssuerConfig): Promise<URL> {
  const url = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let metadata: unknown;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(Math.round(config.timeoutSeconds * 1000)),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${url}`);
    metadata = await response.json();
  } catch (error) {
    throw unavailable(config, `its discovery document ${url} could not be read`, error);
  }
  const { issuer, jwks_uri: jwksUri } = (metadata ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (issuer !== config.issuer) {
    throw unavailable(config, `its discovery document names issuer ${JSON.stringify(issuer)}; the configured issuer must match it exactly`);
  }
  if (typeof jwksUri !== 'string') throw unavailable(config, 'its discovery document has no jwks_uri');
  try {
    const parsed = new URL(jwksUri);
    if (parsed.protocol !== 'https:' && new URL(config.issuer).protocol === 'https:') throw new Error('not https');
    return parsed;
  } catch (error) {
    throw unavailable(config, `its discovery document's jwks_uri ${JSON.stringify(jwksUri)} is not an https URL`, error);
  }
}

function unavailable(config: ResolvedOidcIssuerConfig, what: string, cause?: unknown): FluxoError {
  const reason = cause instanceof Error ? ` (${(cause.cause as Error | undefined)?.message ?? cause.message})` : '';
  return new FluxoError(
    'IDENTITY_PROVIDER_UNAVAILABLE',
    `identity provider ${config.issuer} is unavailable: ${what}${reason}, and the proxy does not verify its tokens without current keys; retry later`,
    cause === undefined ? {} : { cause },
  );
}
