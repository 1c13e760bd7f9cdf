// `fluxo flows list`: the flows of the caller's tenant.
import type { Command } from 'commander';
import { clientFrom, withApiOptions, type ApiOptions } from '../api-options.js';
import type { FlowsQuery, FlowsQueryVariables } from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

export const FLOWS_QUERY = /* GraphQL */ `
  query Flows($project: String, $first: Int, $after: String) {
    flows(project: $project, first: $first, after: $after) {
      nodes {
        id name createdAt
        project { name }
        latestVersion { id number createdAt defaultLabels description }
      }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

type FlowRow = FlowsQuery['flows']['nodes'][number];

interface FlowsListOptions extends ApiOptions {
  project?: string;
}

/** Registers `fluxo flows ...`. */
export function registerFlowsCommand(program: Command): void {
  const flows = program.command('flows').description('registered flows');
  withApiOptions(flows.command('list').description('list the flows of your tenant, by name').option('--project <name>', 'only flows of this project')).action(
    async (options: FlowsListOptions) => {
      const client = clientFrom(options);
      try {
        const found: FlowRow[] = [];
        let after: string | null = null;
        for (;;) {
          const data: FlowsQuery = await client.request(FLOWS_QUERY, {
            project: options.project ?? null,
            first: 200,
            after,
          } satisfies FlowsQueryVariables);
          found.push(...data.flows.nodes);
          if (!data.flows.pageInfo.hasNextPage || !data.flows.pageInfo.endCursor) break;
          after = data.flows.pageInfo.endCursor;
        }
        if (options.json) return printJson(found);
        printTable(
          ['NAME', 'PROJECT', 'LATEST VERSION', 'REGISTERED', 'LABELS'],
          found.map((flow) => [flow.name, flow.project.name, flow.latestVersion.number, formatInstant(flow.latestVersion.createdAt), flow.latestVersion.defaultLabels.join(',')]),
          options.project ? `no flows in project "${options.project}"` : 'no flows registered yet (register some with `fluxo register`)',
        );
      } finally {
        await client.close();
      }
    },
  );
}
