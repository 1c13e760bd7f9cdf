// `fluxo limits set | list | delete`: the operators' concurrency limits of the tenant, per label
// (`label:rj-smtr`: every run carrying the label counts) and for the whole tenant (`tenant`). A
// flow's own limit is declared in its code (`concurrency: { limit, whenFull }`; the API shows it as
// `FlowVersion.concurrencyLimit`). The server enforces all of them when agents claim runs.
import type { Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { ConcurrencyLimitsQuery, DeleteConcurrencyLimitMutation, DeleteConcurrencyLimitMutationVariables, SetConcurrencyLimitMutation, SetConcurrencyLimitMutationVariables } from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

const SET_LIMIT = /* GraphQL */ `
  mutation SetConcurrencyLimit($scope: String!, $limit: Int!) { setConcurrencyLimit(scope: $scope, limit: $limit) { scope limit running updatedAt updatedBy } }
`;
const LIST_LIMITS = /* GraphQL */ `
  query ConcurrencyLimits { concurrencyLimits { scope limit running updatedAt updatedBy } }
`;
const DELETE_LIMIT = /* GraphQL */ `
  mutation DeleteConcurrencyLimit($scope: String!) { deleteConcurrencyLimit(scope: $scope) }
`;

/** A limit as the commands print it. */
export type LimitRow = ConcurrencyLimitsQuery['concurrencyLimits'][number];

/** `4` → 4; BAD_USER_INPUT for anything but a whole number (the server checks the range). */
function parseLimit(value: string): number {
  if (!/^\d+$/.test(value)) throw new FluxoError('BAD_USER_INPUT', `the limit must be a whole number from 1 to 10000, got "${value.slice(0, 40)}"`);
  return Number(value);
}

/** Registers `fluxo limits ...`. */
export function registerLimitsCommand(program: Command): void {
  const limits = program
    .command('limits')
    .description("your tenant's concurrency limits: how many runs carrying a label (label:NAME), or of the whole tenant (tenant), may hold an agent at once");

  withApiOptions(
    limits
      .command('set <scope> <limit>')
      .description('set or replace a limit (tenant-admin); SCOPE is `tenant` or `label:<label>`, LIMIT 1-10000'),
  ).action(async (scope: string, value: string, options: ApiOptions) => {
    const limit = parseLimit(value);
    await withClient(options, async (client) => {
      const { setConcurrencyLimit: set } = await client.request<SetConcurrencyLimitMutation>(SET_LIMIT, { scope, limit } satisfies SetConcurrencyLimitMutationVariables);
      if (options.json) return printJson(set);
      process.stdout.write(`${set.scope}: at most ${set.limit} at once (${set.running} running now)\n`);
    });
  });

  withApiOptions(limits.command('list').description('the limits, with how many runs hold a slot of each now')).action(async (options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { concurrencyLimits: found } = await client.request<ConcurrencyLimitsQuery>(LIST_LIMITS, {});
      if (options.json) return printJson(found);
      printTable(
        ['SCOPE', 'LIMIT', 'RUNNING', 'UPDATED', 'UPDATED BY'],
        found.map((l) => [l.scope, String(l.limit), String(l.running), formatInstant(l.updatedAt), l.updatedBy]),
        'no concurrency limits (set one with `fluxo limits set label:NAME 4` or `fluxo limits set tenant 50`)',
      );
    });
  });

  withApiOptions(limits.command('delete <scope>').description('delete a limit (tenant-admin); exits 4 when there is none')).action(async (scope: string, options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { deleteConcurrencyLimit: deleted } = await client.request<DeleteConcurrencyLimitMutation>(DELETE_LIMIT, { scope } satisfies DeleteConcurrencyLimitMutationVariables);
      if (options.json) return printJson({ scope, deleted });
      if (!deleted) throw new FluxoError('NOT_FOUND', `no concurrency limit ${scope} in your tenant; nothing was deleted`);
      process.stdout.write(`deleted ${scope}\n`);
    });
  });
}
