// The proxy's identity-provider configuration: which OIDC issuers it trusts, for which audience,
// with which algorithms and token types, how long their keys are cached, and how their claims map
// to a fluxo tenant and role. It is a JSON file (`fluxo proxy start --auth-config FILE`) rather than
// code, so an operator adds a provider or changes a group mapping without a release. Every problem
// is reported as BAD_USER_INPUT naming the offending key, at load time, never at the first request.
import { readFile } from 'node:fs/promises';
import { FluxoError } from '../common/errors.js';
import { isRole, roles, type Role } from '../common/identity.js';
import { tenantProblem, type ClaimMapping, type RoleSource, type TenantSource } from './claims.js';

/** Asymmetric JWS algorithms an identity provider may be trusted with (RFC 7518, RFC 8037). */
export const OIDC_SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
/** @default ['RS256', 'ES256', 'EdDSA'] */
export const DEFAULT_OIDC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
/**
 * Only RFC 9068 access tokens by default. Providers that type their access tokens `JWT` (Keycloak,
 * Entra ID) need `"tokenTypes": ["at+jwt", "JWT"]`; tokens of such a generic type are then also
 * refused when they carry ID-token claims (`nonce`, `at_hash`, `c_hash`).
 * @default ['at+jwt']
 */
export const DEFAULT_OIDC_TOKEN_TYPES = ['at+jwt'] as const;
/** @default 30 */
export const DEFAULT_JWKS_COOLDOWN_SECONDS = 30;
/** @default 600 */
export const DEFAULT_JWKS_MAX_AGE_SECONDS = 600;
/** @default 5 */
export const DEFAULT_IDP_TIMEOUT_SECONDS = 5;
/** @default { subject: 'sub', tenant: { claim: 'fluxo_tenant' }, role: { claim: 'fluxo_role' } } */
export const DEFAULT_CLAIM_MAPPING: ClaimMapping = { subject: 'sub', tenant: { claim: 'fluxo_tenant' }, role: { claim: 'fluxo_role' } };

/** One trusted OpenID provider, as written in the config file. */
export interface OidcIssuerConfig {
  /** The provider's issuer URL, compared exactly with the token's `iss`; https (http only on loopback). */
  issuer: string;
  /** The `aud` its access tokens must carry for fluxo. */
  audience: string;
  /** The provider's JWKS URL; without it, `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Accepted `alg` values; HS* and `none` are refused at load. @default ['RS256', 'ES256', 'EdDSA'] */
  algorithms?: string[];
  /** Accepted `typ` values (compared case-insensitively, `application/` optional). @default ['at+jwt'] */
  tokenTypes?: string[];
  /** Least time between two JWKS fetches triggered by an unknown `kid`. @default 30 */
  cooldownSeconds?: number;
  /** After this long without a successful fetch the cached JWKS is no longer used (fail closed). @default 600 */
  maxAgeSeconds?: number;
  /** Timeout of each discovery or JWKS request. @default 5 */
  timeoutSeconds?: number;
  /** How claims become a fluxo identity. @default { subject: 'sub', tenant: { claim: 'fluxo_tenant' }, role: { claim: 'fluxo_role' } } */
  claims?: { subject?: string; tenant?: TenantSource; role?: RoleSource };
  /**
   * Offer this provider to the web interface's sign-in (authorization code with PKCE, a public
   * client): the client id registered at the provider for the UI, and the scopes to ask for
   * (`openid` is always asked). The redirect URI to register is `<proxy URL>/sign-in`. @default not offered
   */
  browser?: { clientId: string; scopes?: string[] };
}

/** A provider's browser client with defaults applied (`scopes` always holds `openid`). */
export interface BrowserOidcClient {
  clientId: string;
  scopes: string[];
}

/** An issuer with every default applied. */
export type ResolvedOidcIssuerConfig = Required<Omit<OidcIssuerConfig, 'jwksUri' | 'claims' | 'browser'>> & { jwksUri?: string; claims: ClaimMapping; browser?: BrowserOidcClient };

/** What the auth config file holds. */
export interface AuthConfig {
  oidcIssuers: ResolvedOidcIssuerConfig[];
}

/**
 * Reads and validates the auth config file.
 *
 * @example
 * // auth.json: {"oidcIssuers":[{"issuer":"https://id.example.gov.br/realms/rio","audience":"fluxo-api",
 * //   "claims":{"tenant":{"claim":"agency"},"role":{"claim":"groups","map":{"city-data-devs":"developer"}}}}]}
 * const { oidcIssuers } = await loadAuthConfig('auth.json')
 */
export async function loadAuthConfig(path: string): Promise<AuthConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FluxoError('BAD_USER_INPUT', `auth config ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `auth config ${path} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseAuthConfig(value, path);
}

/** Validates an auth config value (the parsed file); `source` names it in messages. */
export function parseAuthConfig(value: unknown, source = 'auth config'): AuthConfig {
  const where = new Path(source);
  const config = objectAt(value, where, ['oidcIssuers']);
  const list = config.oidcIssuers ?? [];
  if (!Array.isArray(list)) return where.key('oidcIssuers').fail('must be a list of issuers');
  return { oidcIssuers: resolveIssuerList(list, where.key('oidcIssuers')) };
}

/**
 * Applies defaults to, and validates, issuers given in code (`createTokenVerifier({ oidcIssuers })`);
 * `source` names them in messages.
 */
export function resolveOidcIssuers(issuers: readonly unknown[], source = 'createTokenVerifier'): ResolvedOidcIssuerConfig[] {
  return resolveIssuerList(issuers, new Path(source).key('oidcIssuers'));
}

function resolveIssuerList(issuers: readonly unknown[], where: Path): ResolvedOidcIssuerConfig[] {
  const seen = new Set<string>();
  return issuers.map((entry, index) => {
    const resolved = resolveOidcIssuer(entry, where.index(index));
    if (seen.has(resolved.issuer)) where.index(index).key('issuer').fail(`${JSON.stringify(resolved.issuer)} is listed twice`);
    seen.add(resolved.issuer);
    return resolved;
  });
}

const ISSUER_KEYS = ['issuer', 'audience', 'jwksUri', 'algorithms', 'tokenTypes', 'cooldownSeconds', 'maxAgeSeconds', 'timeoutSeconds', 'claims', 'browser'];

function resolveOidcIssuer(value: unknown, where: Path): ResolvedOidcIssuerConfig {
  const entry = objectAt(value, where, ISSUER_KEYS);
  const issuer = providerUrl(entry.issuer, where.key('issuer'));
  if (new URL(issuer).search || new URL(issuer).hash) where.key('issuer').fail('must not have a query or fragment (OpenID Connect Discovery §3)');
  const jwksUri = entry.jwksUri === undefined ? undefined : providerUrl(entry.jwksUri, where.key('jwksUri'));
  const cooldownSeconds = seconds(entry.cooldownSeconds, DEFAULT_JWKS_COOLDOWN_SECONDS, 0, 3600, where.key('cooldownSeconds'));
  const maxAgeSeconds = seconds(entry.maxAgeSeconds, DEFAULT_JWKS_MAX_AGE_SECONDS, 1, 86_400, where.key('maxAgeSeconds'));
  if (maxAgeSeconds < cooldownSeconds) where.key('maxAgeSeconds').fail(`(${maxAgeSeconds}) must not be shorter than cooldownSeconds (${cooldownSeconds})`);
  return {
    issuer,
    audience: nonEmptyString(entry.audience, where.key('audience')),
    ...(jwksUri === undefined ? {} : { jwksUri }),
    algorithms: algorithms(entry.algorithms, where.key('algorithms')),
    tokenTypes: stringList(entry.tokenTypes, DEFAULT_OIDC_TOKEN_TYPES, where.key('tokenTypes')),
    cooldownSeconds,
    maxAgeSeconds,
    timeoutSeconds: seconds(entry.timeoutSeconds, DEFAULT_IDP_TIMEOUT_SECONDS, 0.1, 60, where.key('timeoutSeconds')),
    claims: claimMapping(entry.claims, where.key('claims')),
    ...(entry.browser === undefined ? {} : { browser: browserClient(entry.browser, where.key('browser')) }),
  };
}

function browserClient(value: unknown, where: Path): BrowserOidcClient {
  const entry = objectAt(value, where, ['clientId', 'scopes']);
  const scopes = stringList(entry.scopes, ['openid'], where.key('scopes'));
  return { clientId: nonEmptyString(entry.clientId, where.key('clientId')), scopes: scopes.includes('openid') ? scopes : ['openid', ...scopes] };
}

function algorithms(value: unknown, where: Path): string[] {
  const list = stringList(value, DEFAULT_OIDC_ALGORITHMS, where);
  list.forEach((alg, index) => {
    if (/^HS/i.test(alg)) where.index(index).fail(`${alg} is symmetric: a provider's public keys would verify tokens anyone could forge; use ${DEFAULT_OIDC_ALGORITHMS.join(', ')}`);
    if (!(OIDC_SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) where.index(index).fail(`${JSON.stringify(alg)} is not one of ${OIDC_SUPPORTED_ALGORITHMS.join(', ')}`);
  });
  return list;
}

function claimMapping(value: unknown, where: Path): ClaimMapping {
  if (value === undefined) return DEFAULT_CLAIM_MAPPING;
  const claims = objectAt(value, where, ['subject', 'tenant', 'role']);
  return {
    subject: claims.subject === undefined ? DEFAULT_CLAIM_MAPPING.subject : nonEmptyString(claims.subject, where.key('subject')),
    tenant: claims.tenant === undefined ? DEFAULT_CLAIM_MAPPING.tenant : tenantSource(claims.tenant, where.key('tenant')),
    role: claims.role === undefined ? DEFAULT_CLAIM_MAPPING.role : roleSource(claims.role, where.key('role')),
  };
}

function tenantSource(value: unknown, where: Path): TenantSource {
  const source = objectAt(value, where, ['claim', 'value']);
  if ((source.claim === undefined) === (source.value === undefined)) where.fail('needs exactly one of "claim" (a claim name) or "value" (one tenant for every token)');
  if (source.claim !== undefined) return { claim: nonEmptyString(source.claim, where.key('claim')) };
  const problem = tenantProblem(source.value);
  if (problem) where.key('value').fail(problem);
  return { value: source.value as string };
}

function roleSource(value: unknown, where: Path): RoleSource {
  const source = objectAt(value, where, ['claim', 'map', 'value']);
  if ((source.claim === undefined) === (source.value === undefined)) where.fail('needs exactly one of "claim" (a claim name) or "value" (one role for every token)');
  if (source.value !== undefined) {
    if (source.map !== undefined) where.key('map').fail('applies only with "claim"');
    return { value: role(source.value, where.key('value')) };
  }
  const claim = nonEmptyString(source.claim, where.key('claim'));
  if (source.map === undefined) return { claim };
  const map = objectAt(source.map, where.key('map'));
  const entries = Object.entries(map).map(([providerValue, fluxoRole]) => [providerValue, role(fluxoRole, where.key('map').key(providerValue))] as const);
  if (entries.length === 0) where.key('map').fail('is empty; map at least one provider value to a role, or leave "map" out');
  return { claim, map: Object.fromEntries(entries) };
}

function role(value: unknown, where: Path): Role {
  if (!isRole(value)) where.fail(`${JSON.stringify(value)} is not one of ${roles.join(', ')}`);
  return value as Role;
}

function providerUrl(value: unknown, where: Path): string {
  const text = nonEmptyString(value, where);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return where.fail(`${JSON.stringify(text)} is not an absolute URL`);
  }
  // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is the exception
  // for a provider on the same machine (and for tests).
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) where.fail(`${JSON.stringify(text)} must use https (http is accepted only on 127.0.0.1, ::1 or localhost)`);
  return text;
}

function seconds(value: unknown, fallback: number, min: number, max: number, where: Path): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) where.fail(`must be a number of seconds from ${min} to ${max}; got ${JSON.stringify(value)}`);
  return value as number;
}

function stringList(value: unknown, fallback: readonly string[], where: Path): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.length === 0) return where.fail('must be a non-empty list of strings');
  return value.map((item, index) => nonEmptyString(item, where.index(index)));
}

function nonEmptyString(value: unknown, where: Path): string {
  if (typeof value !== 'string' || value.trim() === '') where.fail(value === undefined ? 'is missing' : `must be a non-empty string; got ${JSON.stringify(value)}`);
  return value as string;
}

/** An object, with keys outside `allowed` (when given) refused, so a typo never silently falls back to a default. */
function objectAt(value: unknown, where: Path, allowed?: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) where.fail('must be an object');
  const object = value as Record<string, unknown>;
  const unknown = allowed ? Object.keys(object).filter((key) => !allowed.includes(key)) : [];
  if (unknown.length > 0) where.key(unknown[0]!).fail(`is not a known setting (known: ${allowed!.join(', ')})`);
  return object;
}

/** A position in the config, printed as `auth.json: oidcIssuers[0].claims.role`. */
class Path {
  constructor(
    private readonly source: string,
    private readonly trail = '',
  ) {}

  key(name: string): Path {
    return new Path(this.source, /^[A-Za-z_$][\w$]*$/.test(name) ? `${this.trail}${this.trail ? '.' : ''}${name}` : `${this.trail}[${JSON.stringify(name)}]`);
  }

  index(position: number): Path {
    return new Path(this.source, `${this.trail}[${position}]`);
  }

  fail(problem: string): never {
    throw new FluxoError('BAD_USER_INPUT', `${this.source}: ${this.trail || 'the top level'} ${problem}`);
  }
}
