// `fluxo runs restart RUN` and `fluxo runs rerun RUN [--param k=v ...]`. A restart is a new attempt
// of the same run: tasks that succeeded before (same key and inputs) return their stored results,
// read back and verified by the agent, and the run goes on from the task that failed. A rerun is a
// new run of the same flow version with the run's parameters, `--param` values replacing theirs.
import type { Command } from 'commander';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { RerunFlowRunMutation, RerunFlowRunMutationVariables, RestartFlowRunMutation, RestartFlowRunMutationVariables } from '../../schema/generated/operations.js';
import { printJson } from '../format.js';
import { parseParams } from './runs.js';

const RESTART_MUTATION = /* GraphQL */ `
  mutation RestartFlowRun($id: ID!) {
    restartFlowRun(id: $id) { id state attempt stateReason stateMessage }
  }
`;

const RERUN_MUTATION = /* GraphQL */ `
  mutation RerunFlowRun($id: ID!, $parameters: JSON) {
    rerunFlowRun(id: $id, parameters: $parameters) { id state attempt rerunOf parameters }
  }
`;

interface RerunOptions extends ApiOptions {
  param: string[];
}

/** Adds `restart` and `rerun` to `fluxo runs`. */
export function addRestartCommands(runs: Command): void {
  withApiOptions(
    runs
      .command('restart')
      .description('restart a FAILED, CRASHED, TIMED_OUT or CANCELLED run: a new attempt that reuses the stored results of tasks that succeeded and runs from the one that failed')
      .argument('<run-id>', 'the flow run id'),
  ).action(async (runId: string, options: ApiOptions) =>
    withClient(options, async (client) => {
      const { restartFlowRun: run } = await client.request<RestartFlowRunMutation>(RESTART_MUTATION, { id: runId } satisfies RestartFlowRunMutationVariables);
      if (options.json) return printJson(run);
      process.stdout.write(`run ${run.id}: ${run.state}, attempt ${run.attempt}\n`);
    }),
  );

  withApiOptions(
    runs
      .command('rerun')
      .description("create a new run of the same flow version with the run's parameters (--param replaces one)")
      .argument('<run-id>', 'the flow run id')
      .option('--param <key=value>', "a parameter replacing the run's (repeatable); values are strings the server coerces to the flow's schema", collect, []),
  ).action(async (runId: string, options: RerunOptions) =>
    withClient(options, async (client) => {
      const parameters = parseParams(options.param);
      const { rerunFlowRun: run } = await client.request<RerunFlowRunMutation>(RERUN_MUTATION, {
        id: runId,
        parameters: Object.keys(parameters).length > 0 ? parameters : null,
      } satisfies RerunFlowRunMutationVariables);
      if (options.json) return printJson(run);
      process.stdout.write(`created run ${run.id} (${run.state}), a rerun of ${runId}\n`);
    }),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
