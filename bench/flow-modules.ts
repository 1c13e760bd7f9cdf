// Generated flow modules for registration at scale (bench/register-many.ts and
// test/sdk/register-bulk.test.ts): each one is what a real flows repository holds — zod
// parameters, a couple of tasks, a description, and every third one a schedule — and each is
// different, so each bundles to its own digest.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's node_modules (for `zod`), from this file's place in src or dist. */
function nodeModulesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // bench/ in the source tree, dist/bench/ once compiled.
  return join(here, here.includes('/dist/') ? '../..' : '..', 'node_modules');
}

/** The source of generated flow module `index` (flow name `generated-<index>`). */
export function flowModuleSource(index: number): string {
  const cron = index % 3 === 0 ? `\n    schedules: [{ cron: '${index % 60} ${index % 24} * * *', timezone: 'America/Sao_Paulo', parameters: { year: ${2000 + (index % 20)} } }, { every: '${(index % 5) + 1}h' }],` : '';
  return `// Generated flow ${index}: extracts a table and loads it.
import { z } from 'zod';
import { flow, getLogger, task } from 'fluxo';

const log = getLogger();

const extract = task('extract-${index}', async (year: number, limit: number): Promise<number[]> => {
  log.info('extracting %d rows of %d', limit, year);
  return Array.from({ length: limit }, (_, i) => year * 1000 + i + ${index});
});

const load = task('load-${index}', async (rows: number[], table: string): Promise<number> => {
  log.info('loading %d rows into %s', rows.length, table);
  return rows.length;
});

export const generated${index} = flow(
  'generated-${index}',
  {
    description: 'Generated flow number ${index}: extract a year of table_${index} and load it',
    parameters: z.object({
      year: z.number().int().min(2000).max(2030).default(2020).describe('the year to extract'),
      limit: z.number().int().min(1).max(100000).default(${100 + index}).describe('how many rows at most'),
      table: z.string().min(1).max(100).default('dataset_${index}.table_${index}').describe('the warehouse table to load'),
      mode: z.enum(['append', 'overwrite', 'merge']).default('append').describe('how rows reach the table'),
      partitions: z.array(z.string().regex(/^[a-z_]+=[0-9]+$/)).max(50).default([]).describe('Hive partitions to write'),
      dryRun: z.boolean().default(false).describe('extract only; load nothing'),
    }),
    labels: ['agency-${index % 7}'],
    retries: ${index % 3},${cron}
  },
  async ({ year, limit, table }) => {
    const rows = await extract(year, limit);
    return load(rows, table);
  },
);
`;
}

/**
 * Writes `count` flow modules under `dir/flows/group-<n>/flow-<i>.ts` (groups of 100, so a
 * directory walk has depth), with a package.json and a node_modules link so that `zod` and the
 * bundle's project root resolve as in a real repository. Returns the flows directory.
 *
 * @example
 * const flowsDir = await writeFlowModules(await mkdtemp(join(tmpdir(), 'flows-')), 800);
 */
export async function writeFlowModules(dir: string, count: number, from = 0): Promise<string> {
  await writeFile(join(dir, 'package.json'), '{ "name": "generated-flows", "private": true, "type": "module" }\n');
  await symlink(nodeModulesDir(), join(dir, 'node_modules'), 'dir').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const flowsDir = join(dir, 'flows');
  for (let i = from; i < from + count; i++) {
    const group = join(flowsDir, `group-${Math.floor(i / 100)}`);
    await mkdir(group, { recursive: true });
    await writeFile(join(group, `flow-${i}.ts`), flowModuleSource(i));
  }
  return flowsDir;
}
