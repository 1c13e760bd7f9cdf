// Who gets through the proxy, decided the same way for HTTP requests and WebSocket connections:
// the bearer token is verified, an admin's `x-fluxo-tenant` is applied (anyone else's refused), the
// rate limits are charged, and each operation is checked against the token's kind. Every refusal is
// recorded in the audit log; rate-limit refusals at most once per caller and window, with a count,
// so that a flood of requests does not become a flood of audit events.
import { FluxoError, coerceError } from '../common/errors.js';
import type { Identity } from '../common/identity.js';
import { identitySigner } from './identity-signer.js';
import type { AuditForwarder, ProxyAuditEvent } from './audit-forwarder.js';
import { tenantProblem } from './claims.js';
import type { ProxyHeaderValues } from './forward-headers.js';
import type { GraphQLRequestText, OperationKindChecker } from './operation-kinds.js';
import type { RateLimiter } from './rate-limit.js';
import type { Refusal } from './refuse.js';
import type { VerifiedToken } from './verified-token.js';

/** A refusal as the audit log records it. */
export type RefusalAuditEvent = ProxyAuditEvent;

/** Where refusals go (auth-proxy/audit-forwarder.ts in the proxy). */
export type AuditRecorder = Pick<AuditForwarder, 'record'>;

/** A caller the proxy let in. */
export interface Admitted {
  verified: VerifiedToken;
  /** The identity the server gets: the token's, in the tenant an admin switched to. */
  identity: Identity;
  /** Upstream header values, with `identity` signed. */
  headerValues: ProxyHeaderValues;
}

/** What a caller presented. */
export interface Credentials {
  authorization: string | undefined;
  /** The `x-fluxo-tenant` header, if sent. */
  tenant: string | string[] | undefined;
  requestId: string;
  clientAddress: string | undefined;
}

/** What `createAdmission` decides with. */
export interface AdmissionOptions {
  verify: (authorization: string | undefined) => Promise<VerifiedToken>;
  identitySecret: Uint8Array;
  rateLimiter: RateLimiter;
  kinds: OperationKindChecker;
  audit: AuditRecorder;
  /** At most one rate-limit audit event per token (and per tenant) within this window. @default 10000 */
  rateLimitAuditWindowMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The proxy's access decisions, shared by HTTP and WebSocket traffic. */
export interface Admission {
  /** Verifies, switches tenant, charges the rate limits (one request): the admitted caller or the refusal. */
  admit(credentials: Credentials): Promise<Admitted | { refusal: Refusal }>;
  /** Charges the rate limits for one more request of an admitted caller (a WebSocket `subscribe`). */
  charge(admitted: Admitted, requestId: string): Refusal | undefined;
  /** Checks one operation against the caller's token kind. */
  checkOperation(admitted: Admitted, request: GraphQLRequestText, requestId: string): Refusal | undefined;
}

/** Sampled rate-limit audit state per caller. */
interface AuditWindow {
  openedAt: number;
  suppressed: number;
}
const MAX_AUDIT_WINDOWS = 10_000;

/**
 * Builds the proxy's gate.
 *
 * @example
 * const admission = createAdmission({ verify, identitySecret, rateLimiter: createRateLimiter(), kinds: createOperationKindChecker(), audit })
 * const admitted = await admission.admit({ authorization, tenant: req.headers['x-fluxo-tenant'], requestId, clientAddress })
 * if ('refusal' in admitted) refuse(res, admitted.refusal, requestId)
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { rateLimiter, kinds, audit } = options;
  const now = options.now ?? Date.now;
  const windowMs = options.rateLimitAuditWindowMs ?? 10_000;
  const windows = new Map<string, AuditWindow>();
  const signHeader = identitySigner(options.identitySecret);

  const who = (identity: Identity | undefined) => (identity ? { tenant: identity.tenant, subject: identity.subject, role: identity.role } : {});

  const deny = (refusal: Refusal, action: string, requestId: string, identity?: Identity, detail = refusal.message): Refusal => {
    audit.record({ at: now(), ...who(identity), action, requestId, outcome: 'DENIED', code: refusal.code, detail });
    return refusal;
  };

  const charge = (verified: VerifiedToken, requestId: string): Refusal | undefined => {
    const { identity } = verified;
    const tokenKey = verified.tokenId ?? `${identity.subject}\n${identity.tenant}`;
    const decision = rateLimiter.take({ token: tokenKey, tenant: identity.tenant });
    if (decision.allowed) return undefined;
    const refusal: Refusal = { code: 'RATE_LIMITED', message: decision.message, retryAfterSeconds: decision.retryAfterSeconds };
    const windowKey = `${decision.limit}\n${decision.limit === 'token' ? tokenKey : identity.tenant}`;
    const at = now();
    const open = windows.get(windowKey);
    if (open && at - open.openedAt < windowMs) {
      open.suppressed += 1;
      return refusal;
    }
    const detail = open?.suppressed ? `${decision.message} (and ${open.suppressed} more refused in the previous ${windowMs / 1000} s)` : decision.message;
    windows.delete(windowKey);
    if (windows.size >= MAX_AUDIT_WINDOWS) windows.delete(windows.keys().next().value!);
    windows.set(windowKey, { openedAt: at, suppressed: 0 });
    return deny(refusal, 'proxy.rate-limit', requestId, identity, detail);
  };

  return {
    async admit(credentials) {
      const { requestId } = credentials;
      let verified: VerifiedToken;
      try {
        verified = await options.verify(credentials.authorization);
      } catch (error) {
        const refusal: Refusal =
          error instanceof FluxoError
            ? { code: error.code, message: error.message }
            : { code: 'INTERNAL_SERVER_ERROR', message: `the proxy failed to authenticate the request (${coerceError(error).message}; request id ${requestId})` };
        return { refusal: deny(refusal, 'proxy.authenticate', requestId) };
      }
      const switched = switchTenant(verified.identity, credentials.tenant);
      if ('refusal' in switched) return { refusal: deny(switched.refusal, 'proxy.tenant', requestId, verified.identity) };
      const limited = charge(verified, requestId);
      if (limited) return { refusal: limited };
      const identity = switched.identity;
      return {
        verified,
        identity,
        headerValues: { identity: await signHeader(identity), requestId, clientAddress: credentials.clientAddress },
      };
    },

    charge: (admitted, requestId) => charge(admitted.verified, requestId),

    checkOperation(admitted, request, requestId) {
      const refusal = kinds.check(admitted.verified.kind, request);
      if (!refusal) return undefined;
      const { field, ...answer } = refusal;
      // Only the kind decision is an auth decision; a too-complex document is bad input.
      return answer.code === 'TOKEN_KIND_MISMATCH' ? deny(answer, field ?? 'proxy.token-kind', requestId, admitted.identity) : answer;
    },
  };
}

/** An admin's identity in the tenant it asked for; anyone else may name only its own tenant. */
function switchTenant(identity: Identity, header: string | string[] | undefined): { identity: Identity } | { refusal: Refusal } {
  if (header === undefined) return { identity };
  const requested = Array.isArray(header) ? header.join(', ') : header;
  if (identity.role !== 'admin') {
    if (requested === identity.tenant) return { identity };
    return {
      refusal: {
        code: 'FORBIDDEN',
        message: `only admins may act in another tenant: this ${identity.role} token belongs to tenant "${identity.tenant}" and x-fluxo-tenant asks for ${JSON.stringify(requested)}; drop the header`,
      },
    };
  }
  const problem = tenantProblem(requested);
  if (problem) return { refusal: { code: 'BAD_USER_INPUT', message: `x-fluxo-tenant: ${problem}` } };
  return { identity: { ...identity, tenant: requested } };
}
