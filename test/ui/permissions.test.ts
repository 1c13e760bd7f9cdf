// The interface hides what a role cannot do from a copy of the server's permission table; the copy
// must never drift from the table the server enforces.
import { describe, expect, it } from 'vitest';
import { permissions as server } from '../../server/core/authorize.js';

// Loaded by path, not by a static import: ui/ is the browser's room, outside the Node compile.
const { can, permissions: ui } = (await import(String(new URL('../../ui/src/permissions.ts', import.meta.url)))) as {
  can: (viewer: { role: string }, permission: string) => boolean;
  permissions: Record<string, readonly string[]>;
};

describe('the interface’s permission table', () => {
  it('is the server’s table, permission by permission', () => {
    expect(ui).toEqual(server);
  });

  it.each([
    ['VIEWER', 'createFlowRun', false],
    ['VIEWER', 'read', true],
    ['DEVELOPER', 'cancelFlowRun', true],
    ['DEVELOPER', 'readAuditLog', false],
    ['TENANT_ADMIN', 'readAuditLog', true],
    ['ADMIN', 'listTenants', true],
    ['TENANT_ADMIN', 'listTenants', false],
  ] as const)('%s may %s: %s', (role, permission, allowed) => {
    expect(can({ role }, permission)).toBe(allowed);
  });
});
