// The doors between the parts are enforced by scripts/check-boundaries.mjs (run by `npm test`
// before the tests). This checks the checker: it passes on the tree and bites on planted crossings.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/harness.js';

interface Violation { file: string; line: number; specifier: string; from: string; to: string }
const { findViolations } = (await import(join(repoRoot, 'scripts', 'check-boundaries.mjs'))) as { findViolations(root: string): Violation[] };

/** A scratch tree with the given files (path → text). */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await tempDir('fluxo-boundaries-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

describe('import boundaries', () => {
  it('finds no crossing in the tree', () => {
    expect(findViolations(repoRoot)).toEqual([]);
  });

  it('refuses the SDK importing server code, statically, as a type, or dynamically', async () => {
    const root = await tree({
      'server/core/service.ts': 'export const x = 1;\n',
      'sdk/flow.ts': "import { x } from '../server/core/service.js';\nexport type { X } from '../server/core/service.js';\nconst later = () => import('../server/core/service.js');\n",
    });
    const found = findViolations(root);
    expect(found.map((v) => [v.file, v.line, v.to])).toEqual([
      ['sdk/flow.ts', 1, 'server/core/service.ts'],
      ['sdk/flow.ts', 2, 'server/core/service.ts'],
      ['sdk/flow.ts', 3, 'server/core/service.ts'],
    ]);
  });

  it('refuses the agent binary importing the CLI, and the schema importing the server', async () => {
    const root = await tree({
      'cli/commands/agent.ts': 'export const register = 1;\n',
      'agent/binary-main.ts': "import { register } from '../cli/commands/agent.js';\n",
      'server/store/limits.ts': 'export type L = 1;\n',
      'schema/generated/other.ts': "import type { L } from '../../server/store/limits.js';\n",
    });
    expect(findViolations(root).map((v) => `${v.file} -> ${v.to}`).sort()).toEqual([
      'agent/binary-main.ts -> cli/commands/agent.ts',
      'schema/generated/other.ts -> server/store/limits.ts',
    ]);
  });

  it('keeps contract/ free of everything but the generated schema types, and lets the UI and the SDK use it', async () => {
    const root = await tree({
      'schema/generated/graphql.ts': 'export type S = 1;\n',
      'common/errors.ts': 'export const E = 1;\n',
      'contract/states.ts': "import type { S } from '../schema/generated/graphql.js';\nimport { E } from '../common/errors.js';\nexport const finalStates = [];\n",
      'ui/src/format.ts': "import { finalStates } from '../../contract/states.js';\n",
      'sdk/options.ts': "import { finalStates } from '../contract/states.js';\n",
    });
    expect(findViolations(root).map((v) => `${v.file}:${v.line} -> ${v.to}`)).toEqual(['contract/states.ts:2 -> common/errors.ts']);
  });

  it('refuses the GraphQL layer importing the store or reaching it through the service; the core and leader services keep it', async () => {
    const root = await tree({
      'server/store/store.ts': 'export interface Store { getFlow(): void }\n',
      'server/store/records.ts': 'export interface FlowRecord { id: string }\nexport const finalStates = new Set();\n',
      'server/store/lineage-store.ts': 'export interface DataPartitionRecord { key: string }\n',
      'server/core/service.ts': "import type { Store } from '../store/store.js';\nexport class FluxoService { constructor(readonly store: Store) {} }\n",
      'server/services/reaper.ts': "import type { Store } from '../store/store.js';\nexport const reap = (store: Store) => store;\n",
      'server/graphql/generated/resolver-types.ts': "import type { DataPartitionRecord } from '../../store/lineage-store.js';\nexport type P = DataPartitionRecord;\n",
      'server/graphql/resolvers.ts': [
        "import type { FlowRecord } from '../store/records.js';",
        "import { finalStates } from '../store/records.js';",
        "import type { Store } from '../store/store.js';",
        "export const flow = (ctx: { service: { store: Store } }) => ctx.service.store.getFlow();",
        "export const ok = (ctx: { service: { flows: { get(): FlowRecord } } }) => ctx.service.flows.get();",
        '',
      ].join('\n'),
    });
    expect(findViolations(root).map((v) => `${v.file}:${v.line} -> ${v.to} (${v.specifier})`).sort()).toEqual([
      "server/graphql/resolvers.ts:2 -> server/store/records.ts (../store/records.js)",
      "server/graphql/resolvers.ts:3 -> server/store/store.ts (../store/store.js)",
      'server/graphql/resolvers.ts:4 -> server/store (.store)',
    ]);
  });

  it('lets the SDK use the data contract but not the data implementation', async () => {
    const root = await tree({
      'data/contract.ts': 'export const C = 1;\n',
      'data/service.ts': 'export const S = 1;\n',
      'sdk/data.ts': "import { C } from '../data/contract.js';\nimport { S } from '../data/service.js';\n",
    });
    expect(findViolations(root).map((v) => `${v.file}:${v.line} -> ${v.to}`)).toEqual(['sdk/data.ts:2 -> data/service.ts']);
  });
});
