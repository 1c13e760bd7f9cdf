// `fluxo runs why RUN`: why a SCHEDULED run has not started, as the server sees it (FlowRun.wait):
// its time, a paused schedule, no agent with matching labels, matching agents offline, a flow,
// label or tenant concurrency limit (n of m running), busy agents, or nothing (it is claimable).
// For causes about agents, the matching agents follow in a table.
import type { Command } from 'commander';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { WhyQuery, WhyQueryVariables } from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';
import { runNotFound } from './logs.js';

const WHY_QUERY = /* GraphQL */ `
  query Why($id: ID!) {
    flowRun(id: $id) {
      id state scheduledAt labels
      wait { kind message limitScope running limit agents { name labels lastSeenAt online concurrency } }
    }
  }
`;

/** What `fluxo runs why --json` prints: the run and its wait cause (null when it does not wait). */
export type WhyResult = NonNullable<WhyQuery['flowRun']>;

/** Causes whose agents the table shows. */
const AGENT_CAUSES = new Set(['NO_MATCHING_AGENT', 'AGENTS_OFFLINE', 'AGENTS_BUSY', 'CLAIMABLE']);

/** Adds `why` to `fluxo runs`. */
export function addWhyCommand(runs: Command): void {
  withApiOptions(runs.command('why').description('why a scheduled run has not started: its time, a paused schedule, agents, or a concurrency limit').argument('<run-id>', 'the flow run id')).action(
    async (runId: string, options: ApiOptions) =>
      withClient(options, async (client) => {
        const { flowRun: run } = await client.request<WhyQuery>(WHY_QUERY, { id: runId } satisfies WhyQueryVariables);
        if (!run) throw runNotFound(runId);
        if (options.json) return printJson(run);
        if (!run.wait) {
          process.stdout.write(`run ${run.id} is ${run.state}: it does not wait\n`);
          return;
        }
        process.stdout.write(`run ${run.id} waits (${run.wait.kind}): ${run.wait.message}\n`);
        if (run.wait.limitScope) process.stdout.write(`limit ${run.wait.limitScope}: ${run.wait.running} of ${run.wait.limit} running\n`);
        if (AGENT_CAUSES.has(run.wait.kind)) {
          process.stdout.write('\n');
          printTable(
            ['AGENT', 'LABELS', 'LAST SEEN', 'ONLINE', 'CONCURRENCY'],
            run.wait.agents.map((a) => [a.name, a.labels.join(',') || '-', formatInstant(a.lastSeenAt), a.online ? 'yes' : 'no', String(a.concurrency)]),
            'no agents have registered in your tenant',
            { emptyTo: 'stdout' },
          );
        }
      }),
  );
}
