// `fluxo agents move <name> --to-subject <subject>`: a tenant-admin hands an agent name to another
// token (a rotated service token, a replaced host). The agent's leases end at once; the agent still
// running on the old token stops with exit code 7 (docs/agent.md). See docs/security.md, "Agents".
import type { Command } from 'commander';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { MoveAgentMutation, MoveAgentMutationVariables } from '../../schema/generated/operations.js';
import { printJson } from '../format.js';

interface AgentsMoveOptions extends ApiOptions {
  toSubject: string;
}

const MOVE_AGENT = /* GraphQL */ `
  mutation MoveAgent($input: MoveAgentInput!) {
    moveAgent(input: $input) { id name labels concurrency lastSeenAt }
  }
`;

/** Adds `fluxo agents`. */
export function registerAgentsCommand(program: Command): void {
  const agents = program.command('agents').description('manage the tenant\'s agents (tenant-admin)');
  withApiOptions(
    agents
      .command('move')
      .description('move an agent name to another token subject; the agent\'s leases end and an agent still on the old token stops (exit 7)')
      .argument('<name>', 'the agent name (`--name` of `fluxo agent start`)')
      .requiredOption('--to-subject <subject>', 'subject of the token that will hold it: service:<token name> for a service token, the sub of a signed token'),
  ).action(async (name: string, options: AgentsMoveOptions) =>
    withClient(options, async (client) => {
      const { moveAgent: agent } = await client.request<MoveAgentMutation>(MOVE_AGENT, { input: { name, toSubject: options.toSubject } } satisfies MoveAgentMutationVariables);
      if (options.json) return printJson(agent);
      process.stdout.write(`moved agent "${agent.name}" (${agent.id}) to ${options.toSubject}: start it with that token\n`);
    }),
  );
}
