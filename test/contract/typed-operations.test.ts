// The CLI's and the agent's GraphQL documents are typed from the schema (schema/codegen.ts →
// schema/generated/operations.ts): a request's result type names a generated type, never an inline
// shape written by hand, and every document codegen should read is in the generated file.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';

async function* sources(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

const PARTS = ['cli', 'agent', 'client'];

describe('typed operations', () => {
  it('gives no request or subscription a hand-written result shape', async () => {
    const inline: string[] = [];
    for (const part of PARTS) {
      for await (const file of sources(join(repoRoot, part))) {
        const text = await readFile(file, 'utf8');
        for (const match of text.matchAll(/\.(?:request|subscribe|#request)<\s*\{/g)) {
          inline.push(`${relative(repoRoot, file)}:${text.slice(0, match.index).split('\n').length}`);
        }
      }
    }
    expect(inline).toEqual([]);
  });

  it('has a generated type for every named document in the CLI and the agent', async () => {
    const generated = await readFile(join(repoRoot, 'schema', 'generated', 'operations.ts'), 'utf8');
    const names: string[] = [];
    for (const part of PARTS) {
      for await (const file of sources(join(repoRoot, part))) {
        const text = await readFile(file, 'utf8');
        for (const match of text.matchAll(/\/\* GraphQL \*\/ `\s*(query|mutation|subscription|fragment) (\w+)/g)) {
          const suffix = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription', fragment: 'Fragment' }[match[1] as 'query'];
          names.push(`${match[2]}${suffix}`);
        }
      }
    }
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((name) => !new RegExp(`^export type ${name} = `, 'm').test(generated))).toEqual([]);
  });
});
