// Role checks. The tenant side of authorization is structural: every store call is scoped by the
// caller's tenant, so another tenant's object is simply "not found".
import { FluxoError } from '../../common/errors.js';
import type { Identity, Role } from '../../common/identity.js';

/** What each role may do. Reads are open to every role of the tenant. */
export const permissions = {
  read: ['admin', 'developer', 'viewer', 'agent'],
  registerFlow: ['admin', 'developer'],
  createFlowRun: ['admin', 'developer'],
  cancelFlowRun: ['admin', 'developer'],
  agentWork: ['agent'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissions;

/** Throws FORBIDDEN unless the identity's role grants `permission`. */
export function authorize(identity: Identity, permission: Permission): void {
  const allowed: readonly Role[] = permissions[permission];
  if (!allowed.includes(identity.role)) {
    throw new FluxoError('FORBIDDEN', `role "${identity.role}" may not ${permission.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)} (allowed: ${allowed.join(', ')})`);
  }
}

/** The actor string recorded in state history. */
export function actorOf(identity: Identity): string {
  return identity.role === 'agent' ? `agent:${identity.subject}` : `user:${identity.subject}`;
}
