// What a fluxo bearer token says, and the checks both sides apply to it: `createToken` refuses to
// mint a token the proxy would refuse, and the proxy refuses anything `createToken` could not mint.
// Identity-provider tokens say it in their own claims, which a configured mapping translates.
import { isRole, roles, type Identity, type Role, type TokenKind } from '../common/identity.js';

/** `iss` of fluxo tokens. @default 'fluxo' */
export const DEFAULT_ISSUER = 'fluxo';
/** `aud` of fluxo tokens. @default 'fluxo-api' */
export const DEFAULT_AUDIENCE = 'fluxo-api';
/** Signature algorithms the proxy accepts on fluxo tokens. Never `none`, never a symmetric (HS*) algorithm. */
export const ALLOWED_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

/**
 * The `typ` header of fluxo tokens, one per kind (RFC 8725 §3.11 explicit typing): a user token can
 * never be replayed where an agent token is expected, nor any other JWT (an OIDC ID token, the
 * proxy's identity header) where a fluxo token is.
 */
export const FLUXO_TOKEN_TYPES: Readonly<Record<TokenKind, string>> = { user: 'fluxo-user+jwt', agent: 'fluxo-agent+jwt' };

/**
 * Header parameters that make a verifier fetch or trust a key the token itself names, or that
 * demand extensions fluxo does not implement. A token carrying any of them is refused, never followed.
 */
export const FORBIDDEN_HEADER_PARAMETERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/**
 * Claims every bearer JWT must carry, whatever its issuer; each issuer adds those its identity
 * mapping reads (fluxo's `tenant` and `role`, an OpenID provider's mapped claims).
 */
export const BASE_REQUIRED_CLAIMS = ['exp', 'iss', 'aud', 'sub'] as const;

/** Default accepted clock skew on exp, nbf and iat. @default 30 */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Largest clock skew a verifier may be configured with: more would keep expired tokens alive for long. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/**
 * `typ` values compared the way RFC 7515 §4.1.9 and RFC 8725 §3.11 ask: case-insensitively, with an
 * `application/` prefix optional.
 *
 * @example normalizeTokenType('application/AT+JWT') // 'at+jwt'
 */
export function normalizeTokenType(typ: string): string {
  return typ.toLowerCase().replace(/^application\//, '');
}

/** A tenant name: lower-case letters, digits and `-`, starting with a letter or digit, at most 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A label: what `fluxo register --labels` and agents accept. */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$/;
/** Longest subject accepted. */
export const MAX_SUBJECT_LENGTH = 256;

/** Why a claim value is unacceptable, or undefined when it is fine. */
export function tenantProblem(tenant: unknown): string | undefined {
  if (tenant === undefined || tenant === null || tenant === '') return 'tenant is missing';
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    return `tenant ${JSON.stringify(tenant)} is not valid (lower-case letters, digits and "-", at most 63 characters, e.g. "rj-smtr")`;
  }
  return undefined;
}

/** Why a role value is unacceptable, or undefined when it is one of the roles. */
export function roleProblem(role: unknown): string | undefined {
  if (role === undefined || role === null || role === '') return `role is missing (one of ${roles.join(', ')})`;
  if (!isRole(role)) return `role ${JSON.stringify(role)} is not one of ${roles.join(', ')}`;
  return undefined;
}

/** Why a subject is unacceptable, or undefined. */
export function subjectProblem(subject: unknown): string | undefined {
  if (typeof subject !== 'string' || subject.trim() === '') return 'subject (sub) is missing';
  if (subject.length > MAX_SUBJECT_LENGTH) return `subject is longer than ${MAX_SUBJECT_LENGTH} characters`;
  return undefined;
}

/** Why a label list is unacceptable, or undefined. */
export function labelsProblem(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels)) return 'labels must be a list of strings';
  const bad = labels.find((label) => typeof label !== 'string' || !LABEL_PATTERN.test(label));
  if (bad !== undefined) return `label ${JSON.stringify(bad)} is not valid (letters, digits, "_", ".", ":", "/", "-"; at most 63 characters)`;
  return undefined;
}

/** Where the tenant of an identity-provider token comes from: one of its claims, or one value for every token of that issuer. */
export type TenantSource = { claim: string } | { value: string };

/**
 * Where the role comes from. A claim may hold a string or a list (e.g. `groups`); with `map`, the
 * first value in the claim's order that `map` names wins and unmapped values are ignored; without
 * `map`, the first value that is itself a fluxo role wins.
 */
export type RoleSource = { claim: string; map?: Readonly<Record<string, Role>> } | { value: Role };

/** How an identity provider's claims become a fluxo identity. */
export interface ClaimMapping {
  /** The claim holding the caller's subject. @default 'sub' */
  subject: string;
  tenant: TenantSource;
  role: RoleSource;
}

/** The claim names a mapping reads, which a token must therefore carry. */
export function mappedClaimNames(mapping: ClaimMapping): string[] {
  const names = [mapping.subject];
  if ('claim' in mapping.tenant) names.push(mapping.tenant.claim);
  if ('claim' in mapping.role) names.push(mapping.role.claim);
  return names;
}

/** The identity a verified payload maps to, or why it maps to none. */
export function mapIdentity(payload: Record<string, unknown>, mapping: ClaimMapping): { identity: Identity } | { problem: string } {
  const subject = payload[mapping.subject];
  const subjectTrouble = subjectProblem(subject);
  if (subjectTrouble) return { problem: `${subjectTrouble} (claim "${mapping.subject}")` };

  const tenant = 'value' in mapping.tenant ? mapping.tenant.value : payload[mapping.tenant.claim];
  const tenantTrouble = tenantProblem(tenant);
  if (tenantTrouble) return { problem: 'claim' in mapping.tenant ? `${tenantTrouble} (claim "${mapping.tenant.claim}")` : tenantTrouble };

  const role = roleOf(payload, mapping.role);
  if (typeof role !== 'string') return role;
  return { identity: { subject: subject as string, tenant: tenant as string, role } };
}

function roleOf(payload: Record<string, unknown>, source: RoleSource): Role | { problem: string } {
  if ('value' in source) return source.value;
  const raw = payload[source.claim];
  const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === 'string');
  const { map } = source;
  const found = map ? values.find((value) => Object.hasOwn(map, value)) : values.find(isRole);
  if (found !== undefined) return map ? map[found]! : (found as Role);
  const advice = map
    ? `none of its values is mapped to a fluxo role (mapped: ${Object.keys(map).join(', ')}); add the value to the issuer's claims.role.map or give the caller a mapped value`
    : `none of its values is a fluxo role (${roles.join(', ')}); give the caller a role or map the provider's values with claims.role.map`;
  return { problem: `role claim "${source.claim}" (${JSON.stringify(raw)}): ${advice}` };
}
