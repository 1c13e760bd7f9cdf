// docs/security.md shows who may call each operation. The table is rendered from the server's own
// rules (field-permissions.ts over authorize.ts), so the doc cannot drift from the code: this test
// fails, printing the table to paste, when they differ. cross-tenant-matrix.test.ts checks that the
// running server behaves as the doc says.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { roles } from '../../common/identity.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { fieldPermissions, rolesOf } from '../../server/graphql/field-permissions.js';
import { repoRoot } from '../support/harness.js';

/** The operations table: one row per root field, ✓ where the role may call it. */
function renderOperationsTable(): string {
  const schema = buildSchema();
  const lines = [`| operation | ${roles.map((r) => `\`${r}\``).join(' | ')} |`, `|---|${roles.map(() => '---|').join('')}`];
  for (const type of [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!]) {
    for (const field of Object.values(type.getFields())) {
      const allowed = rolesOf(fieldPermissions[type.name]![field.name]!);
      lines.push(`| \`${type.name}.${field.name}\` | ${roles.map((r) => (allowed.includes(r) ? '✓' : '—')).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

describe('docs/security.md', () => {
  it('shows the operations table the server enforces', async () => {
    const doc = await readFile(join(repoRoot, 'docs', 'security.md'), 'utf8');
    const block = /<!-- operations-table:start -->\n([\s\S]*?)\n<!-- operations-table:end -->/.exec(doc)?.[1];
    const table = renderOperationsTable();
    expect(block, `paste between the operations-table markers of docs/security.md:\n\n${table}\n`).toBe(table);
  });
});
