// Service tokens fluxo issues for agents, CI jobs and people: revocable bearer values
// `fxs_<id>_<secret>`. The id is the token's record id (not secret: it appears in lists and the
// audit log); the secret is 32 random bytes, base64url, of which only the sha256 is stored. The
// proxy verifies a bearer value through the server (POST /internal/service-tokens/verify) and
// caches the answer for a short time, which bounds how long a revoked token keeps working.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FluxoError } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import { isRole, kindOf, type Identity, type Role, type TokenKind } from '../../common/identity.js';
import type { ServiceTokenRecord } from '../store/service-tokens-store.js';
import type { Page, Store } from '../store/store.js';
import { parseServiceToken, SERVICE_TOKEN_PREFIX } from '../../common/service-token-format.js';
import { authorize } from './authorize.js';
import { checkLabels, checkName } from './validate-input.js';

/** Shortest lifetime a token can be given (seconds). @default 60 */
export const MIN_TTL_SECONDS = 60;
/** Longest lifetime a token can be given (seconds): 365 days. */
export const MAX_TTL_SECONDS = 365 * 86_400;

/** What {@link createServiceToken} takes (the API's `CreateServiceTokenInput`, with a fluxo role). */
export interface CreateServiceTokenArgs {
  name: string;
  role: Role;
  labels?: readonly string[] | null | undefined;
  ttlSeconds?: number | null | undefined;
}

/** What a verified service token speaks for. */
export interface ServiceTokenIdentity {
  identity: Identity;
  kind: TokenKind;
  /** Epoch ms; null for a token without expiry. */
  expiresAtMs: number | null;
  tokenId: string;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Issues a token in the caller's tenant. Returns the record and the bearer value, which is never
 * stored and cannot be shown again.
 *
 * @example const { token } = await createServiceToken(store, identity, { name: 'github-ci', role: 'ci' })
 */
export async function createServiceToken(store: Store, identity: Identity, args: CreateServiceTokenArgs): Promise<{ record: ServiceTokenRecord; token: string }> {
  authorize(identity, 'manageServiceTokens');
  const name = checkName('name', args.name);
  if (!isRole(args.role)) throw new FluxoError('BAD_USER_INPUT', `role "${String(args.role).slice(0, 40)}" is not a fluxo role`);
  if (args.role === 'admin') {
    throw new FluxoError('BAD_USER_INPUT', 'a service token cannot grant ADMIN: service tokens act in one tenant; give it TENANT_ADMIN or a narrower role');
  }
  const labels = checkLabels('labels', args.labels ?? []);
  const ttlSeconds = args.ttlSeconds ?? null;
  if (ttlSeconds !== null && (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_TTL_SECONDS || ttlSeconds > MAX_TTL_SECONDS)) {
    throw new FluxoError('BAD_USER_INPUT', `ttlSeconds must be an integer from ${MIN_TTL_SECONDS} (a minute) to ${MAX_TTL_SECONDS} (365 days), or null for no expiry; got ${ttlSeconds}`);
  }
  const id = newId();
  const secret = randomBytes(32).toString('base64url');
  const record = await store.serviceTokens.create(identity.tenant, {
    id,
    name,
    role: args.role,
    subject: `service:${name}`,
    labels,
    secretHash: sha256(secret).toString('hex'),
    createdBy: identity.subject,
    ttlSeconds,
  });
  if (!record) {
    throw new FluxoError('BAD_USER_INPUT', `tenant "${identity.tenant}" already has a service token named "${name}" (names stay taken after revocation); choose another name`);
  }
  return { record, token: `${SERVICE_TOKEN_PREFIX}${id}_${secret}` };
}

/** The caller's tenant's tokens, newest first. */
export async function listServiceTokens(
  store: Store,
  identity: Identity,
  options: { includeRevoked: boolean; first: number; after?: string | null | undefined },
): Promise<Page<ServiceTokenRecord>> {
  authorize(identity, 'manageServiceTokens');
  return store.serviceTokens.list(identity.tenant, { includeRevoked: options.includeRevoked }, { first: options.first, after: options.after });
}

/** Revokes a token of the caller's tenant; revoking again returns the same record. NOT_FOUND for other tenants' ids. */
export async function revokeServiceToken(store: Store, identity: Identity, id: string): Promise<ServiceTokenRecord> {
  authorize(identity, 'manageServiceTokens');
  const record = await store.serviceTokens.revoke(identity.tenant, id, identity.subject);
  if (!record) throw new FluxoError('NOT_FOUND', `service token ${id.slice(0, 40)} not found`);
  return record;
}

// Compared against when the id is unknown, so an unknown id costs the same as a wrong secret.
const NO_SUCH_HASH = sha256('no such token');

/**
 * Checks a bearer value: TOKEN_INVALID for a malformed value, an unknown id or a wrong secret
 * (one answer for all three, compared in constant time), TOKEN_REVOKED, TOKEN_EXPIRED (database time).
 */
export async function verifyServiceToken(store: Store, bearer: string): Promise<ServiceTokenIdentity> {
  const invalid = (): FluxoError =>
    new FluxoError('TOKEN_INVALID', 'the service token is not valid (unknown, or its secret does not match); copy it exactly as `fluxo token create` printed it');
  const parsed = parseServiceToken(bearer);
  if (!parsed) throw invalid();
  const { id, secret } = parsed;
  const found = await store.serviceTokens.findForVerification(id);
  const expected = found ? Buffer.from(found.secretHash, 'hex') : NO_SUCH_HASH;
  const presented = sha256(secret);
  const matches = expected.length === presented.length && timingSafeEqual(expected, presented);
  if (!found || !matches) throw invalid();
  const { record, now } = found;
  if (record.revokedAt !== null) {
    throw new FluxoError('TOKEN_REVOKED', `service token "${record.name}" was revoked at ${new Date(record.revokedAt).toISOString()}; ask a tenant admin for a new one`);
  }
  if (record.expiresAt !== null && record.expiresAt <= now) {
    throw new FluxoError('TOKEN_EXPIRED', `service token "${record.name}" expired at ${new Date(record.expiresAt).toISOString()}; ask a tenant admin for a new one (\`fluxo token create\`)`);
  }
  return {
    identity: { subject: record.subject, tenant: record.tenant, role: record.role },
    kind: kindOf(record.role),
    expiresAtMs: record.expiresAt,
    tokenId: record.id,
  };
}
