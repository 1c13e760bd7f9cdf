// A real stack (server, auth proxy: test/support/stack.ts) with the resilience fixture flows of
// test/agent/fixtures/resilience-flows.mjs registered, and a way to read a run's whole log.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphQLClient } from '../../../client/graphql-client.js';
import { codeStorageFor } from '../../../storage/code-storage.js';
import { repoRoot } from '../../support/harness.js';
import { startStack, type Stack, type StackOptions } from '../../support/stack.js';

export const RESILIENCE_FLOWS = ['paced', 'hog'] as const;

export interface ResilienceStack {
  stack: Stack;
  developer: GraphQLClient;
}

export async function startResilienceStack(options: StackOptions = {}): Promise<ResilienceStack> {
  const stack = await startStack(options);
  const developer = await stack.client('developer');
  const bytes = await readFile(join(repoRoot, 'test', 'agent', 'fixtures', 'resilience-flows.mjs'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { uri } = await codeStorageFor(stack.storageUri).put(`bundles/${sha256}.mjs`, bytes);
  for (const name of RESILIENCE_FLOWS) {
    await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
      input: { project: 'production', name, storageUri: uri, sha256, size: bytes.byteLength, entrypoint: name, parameterSchema: { type: 'object', additionalProperties: true } },
    });
  }
  return { stack, developer };
}

export interface StoredLine {
  id: string;
  message: string;
  stream: string;
}

/** Every stored log line of a run, oldest first, page by page. */
export async function allLogLines(client: GraphQLClient, id: string): Promise<StoredLine[]> {
  const lines: StoredLine[] = [];
  let after: string | null = null;
  for (;;) {
    const { flowRun }: { flowRun: { logs: { nodes: StoredLine[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } } = await client.request(
      'query($id: ID!, $after: String) { flowRun(id: $id) { logs(first: 1000, after: $after) { nodes { id message stream } pageInfo { endCursor hasNextPage } } } }',
      { id, after },
    );
    lines.push(...flowRun.logs.nodes);
    if (!flowRun.logs.pageInfo.hasNextPage || !flowRun.logs.pageInfo.endCursor) return lines;
    after = flowRun.logs.pageInfo.endCursor;
  }
}
