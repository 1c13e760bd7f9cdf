// Role checks. The tenant side of authorization is structural: every store call is scoped by the
// caller's tenant, so another tenant's object is simply "not found".
import { FluxoError } from '../../common/errors.js';
import type { Identity, Role } from '../../common/identity.js';

/**
 * What each role may do (docs/security.md has the same table for people). `admin` acts in any
 * tenant (the proxy puts the tenant it chose in the identity); every other role only in its own.
 * Agents read nothing but the runs they hold leases on; CI registers flows and nothing else.
 */
export const permissions = {
  read: ['admin', 'tenant-admin', 'developer', 'viewer'],
  registerFlow: ['admin', 'tenant-admin', 'developer', 'ci'],
  createFlowRun: ['admin', 'tenant-admin', 'developer'],
  cancelFlowRun: ['admin', 'tenant-admin', 'developer'],
  /** Pause and resume flow schedules: the operator's switch (CI registers clocks, never flips it). */
  manageSchedules: ['admin', 'tenant-admin', 'developer'],
  /** Tenant and label concurrency limits: they shape every agency's share of the machines. */
  manageLimits: ['admin', 'tenant-admin'],
  /** Notification rules (where run events are sent) and their deliveries. */
  manageNotifications: ['admin', 'tenant-admin', 'developer'],
  agentWork: ['agent'],
  manageServiceTokens: ['admin', 'tenant-admin'],
  manageAgents: ['admin', 'tenant-admin'],
  manageSecrets: ['admin', 'tenant-admin'],
  listSecrets: ['admin', 'tenant-admin', 'developer'],
  readAuditLog: ['admin', 'tenant-admin'],
  listTenants: ['admin'],
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
