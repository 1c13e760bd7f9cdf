// The identity the auth proxy hands to the server. The proxy verifies the caller's bearer token,
// then forwards the request with this identity in a short-lived header it signs with a secret
// only the proxy and the server share. The server refuses every request without a valid one, so
// a request sent straight to the server's port, or with a header forged by a client, gets nowhere.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { FluxoError } from './errors.js';

/** Header that carries the signed identity from proxy to server. Clients' copies are stripped. */
export const IDENTITY_HEADER = 'x-fluxo-identity';
/** Header with the proxy-assigned request id, for logs and audit. */
export const REQUEST_ID_HEADER = 'x-request-id';

export const roles = ['admin', 'tenant-admin', 'developer', 'viewer', 'agent', 'ci'] as const;
/** What a caller may do; see the roles table in docs/security.md. */
export type Role = (typeof roles)[number];

/** The kind of token a caller presented: agent tokens call agent operations only, every other token only the rest. */
export type TokenKind = 'user' | 'agent';

/** An agent role always comes with an agent token, and only with one. */
export function kindOf(role: Role): TokenKind {
  return role === 'agent' ? 'agent' : 'user';
}

/** `tenant-admin` → `TENANT_ADMIN` (the GraphQL Role enum). */
export function roleToGraphQL(role: Role): 'ADMIN' | 'TENANT_ADMIN' | 'DEVELOPER' | 'VIEWER' | 'AGENT' | 'CI' {
  return role.toUpperCase().replace('-', '_') as ReturnType<typeof roleToGraphQL>;
}

/** The GraphQL TokenKind of a role's token. */
export function kindToGraphQL(role: Role): 'USER' | 'AGENT' {
  return kindOf(role) === 'agent' ? 'AGENT' : 'USER';
}

/** `TENANT_ADMIN` → `tenant-admin`; undefined for anything else. */
export function roleFromGraphQL(value: string): Role | undefined {
  const role = value.toLowerCase().replace('_', '-');
  return isRole(role) ? role : undefined;
}

/** A verified caller. `tenant` confines every read and write the caller makes. */
export interface Identity {
  subject: string;
  tenant: string;
  role: Role;
}

const ISSUER = 'fluxo-auth-proxy';
const AUDIENCE = 'fluxo-server';
/** Long enough for a long-poll to be accepted, short enough that a captured header is useless soon. @default 60 */
const LIFETIME_SECONDS = 60;

// Importing the secret as a key costs more than the HMAC itself; every request needs it once on
// each side, so import it once per secret.
const keys = new WeakMap<Uint8Array, KeyObject>();

function keyOf(secret: Uint8Array): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (secret.byteLength < 32) throw new TypeError('the identity secret must be at least 32 bytes');
    keys.set(secret, (key = createSecretKey(secret)));
  }
  return key;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** Signs an identity for the identity header (proxy side). */
export async function signIdentity(identity: Identity, secret: Uint8Array): Promise<string> {
  return new SignJWT({ tenant: identity.tenant, role: identity.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'fluxo-identity+jwt' })
    .setSubject(identity.subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(keyOf(secret));
}

/** Verifies an identity header (server side). Throws FluxoError IDENTITY_MISSING on any failure. */
export async function verifyIdentity(header: string | undefined, secret: Uint8Array): Promise<Identity> {
  if (!header) {
    throw new FluxoError('IDENTITY_MISSING', 'this server only accepts requests through the fluxo auth proxy (no identity header)');
  }
  try {
    const { payload } = await jwtVerify(header, keyOf(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'fluxo-identity+jwt',
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
    });
    const { tenant, role, sub } = payload;
    if (typeof tenant !== 'string' || !tenant || !isRole(role) || typeof sub !== 'string') {
      throw new FluxoError('IDENTITY_MISSING', 'the identity header lacks tenant, role or subject');
    }
    return { subject: sub, tenant, role };
  } catch (error) {
    if (error instanceof FluxoError) throw error;
    const why = error instanceof joseErrors.JOSEError ? error.code : 'malformed';
    throw new FluxoError('IDENTITY_MISSING', `the identity header is not valid (${why}); send requests through the fluxo auth proxy`, { cause: error });
  }
}

// The proxy's credential for the server's internal routes (service-token verification, audit
// forwarding). Same shared secret as the identity header, but its own `typ` and `aud`: jose checks
// both, so a credential can never pass as an identity (it speaks for no caller) and an identity
// header can never open an internal route.

/** Header that carries the proxy's credential on internal routes (`/internal/...`). */
export const PROXY_CREDENTIAL_HEADER = 'x-fluxo-proxy';
const PROXY_CREDENTIAL_TYPE = 'fluxo-proxy+jwt';
const INTERNAL_AUDIENCE = 'fluxo-server-internal';

/** Signs a credential for an internal request (proxy side); valid for 60 s. */
export async function signProxyCredential(secret: Uint8Array): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: PROXY_CREDENTIAL_TYPE })
    .setSubject(ISSUER)
    .setIssuer(ISSUER)
    .setAudience(INTERNAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(keyOf(secret));
}

/** Verifies a proxy credential (server side). Throws FluxoError IDENTITY_MISSING on any failure. */
export async function verifyProxyCredential(header: string | undefined, secret: Uint8Array): Promise<void> {
  if (!header) {
    throw new FluxoError('IDENTITY_MISSING', `internal routes answer the fluxo auth proxy only (no ${PROXY_CREDENTIAL_HEADER} header)`);
  }
  try {
    await jwtVerify(header, keyOf(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: INTERNAL_AUDIENCE,
      typ: PROXY_CREDENTIAL_TYPE,
      requiredClaims: ['exp'],
      clockTolerance: 5,
    });
  } catch (error) {
    const why = error instanceof joseErrors.JOSEError ? error.code : 'malformed';
    throw new FluxoError('IDENTITY_MISSING', `the proxy credential is not valid (${why}); internal routes answer the fluxo auth proxy only`, { cause: error });
  }
}

/**
 * A refusal the proxy decided, as it forwards it to the server's audit log (POST /internal/audit).
 * Requests the proxy refuses never reach the server, so this is how the log learns of them.
 */
export interface ProxyAuditEvent {
  /** Epoch ms. */
  at: number;
  tenant?: string;
  subject?: string;
  role?: string;
  /** `proxy.authenticate`, `proxy.authorize`, `proxy.rate-limit`, ... */
  action: string;
  requestId: string;
  outcome: 'DENIED';
  /** The ErrorCode the client got. */
  code: string;
  detail?: string;
}
