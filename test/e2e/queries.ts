// GraphQL documents the end-to-end tests use.
import type { GraphQLClient } from '../../client/graphql-client.js';
import { waitFor } from '../support/harness.js';

export const RUN_DETAILS = /* GraphQL */ `
  query($id: ID!) {
    flowRun(id: $id) {
      id state stateReason stateMessage attempt labels waitReason exitCode signal parameters
      flow { name }
      taskRuns { key taskName state attempts stateHistory { toState attempt } }
      stateHistory { fromState toState reason actor attempt }
      logs(first: 1000) { nodes { message stream level taskRunKey } }
    }
  }
`;

export interface RunDetails {
  id: string;
  state: string;
  stateReason: string | null;
  stateMessage: string | null;
  attempt: number;
  labels: string[];
  waitReason: string | null;
  exitCode: number | null;
  signal: string | null;
  parameters: Record<string, unknown>;
  flow: { name: string };
  taskRuns: { key: string; taskName: string; state: string; attempts: number; stateHistory: { toState: string; attempt: number }[] }[];
  stateHistory: { fromState: string | null; toState: string; reason: string | null; actor: string; attempt: number }[];
  logs: { nodes: { message: string; stream: string; level: string; taskRunKey: string | null }[] };
}

export async function createRun(client: GraphQLClient, input: Record<string, unknown>): Promise<string> {
  const { createFlowRun } = await client.request<{ createFlowRun: { id: string } }>(
    'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
    { input },
  );
  return createFlowRun.id;
}

export async function runDetails(client: GraphQLClient, id: string): Promise<RunDetails> {
  const { flowRun } = await client.request<{ flowRun: RunDetails | null }>(RUN_DETAILS, { id });
  if (!flowRun) throw new Error(`run ${id} not found`);
  return flowRun;
}

const FINAL = new Set(['SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED']);

/** Waits until the run is in a final state and returns its details. */
export async function waitForFinal(client: GraphQLClient, id: string, timeoutMs = 60_000): Promise<RunDetails> {
  return waitFor(
    async () => {
      const run = await runDetails(client, id);
      return FINAL.has(run.state) ? run : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `run ${id} to end` },
  );
}
