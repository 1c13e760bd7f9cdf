// What each role may do, mirrored from server/core/authorize.ts (test/ui/permissions.test.ts keeps
// the two equal). The interface only hides what a role cannot use; the server still decides.
import type { Viewer } from './session';

type Role = 'admin' | 'tenant-admin' | 'developer' | 'viewer' | 'agent' | 'ci';

export const permissions = {
  read: ['admin', 'tenant-admin', 'developer', 'viewer'],
  registerFlow: ['admin', 'tenant-admin', 'developer', 'ci'],
  createFlowRun: ['admin', 'tenant-admin', 'developer'],
  cancelFlowRun: ['admin', 'tenant-admin', 'developer'],
  manageSchedules: ['admin', 'tenant-admin', 'developer'],
  manageLimits: ['admin', 'tenant-admin'],
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

/** `TENANT_ADMIN` → `tenant-admin`. */
export function roleOf(viewer: Pick<Viewer, 'role'>): Role {
  return viewer.role.toLowerCase().replace('_', '-') as Role;
}

/** Whether the viewer's role grants `permission`. */
export function can(viewer: Pick<Viewer, 'role'> | null | undefined, permission: Permission): boolean {
  if (!viewer) return false;
  return (permissions[permission] as readonly Role[]).includes(roleOf(viewer));
}
