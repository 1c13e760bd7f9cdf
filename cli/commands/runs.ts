// `fluxo runs list | get | create | cancel | backfill | restart | rerun`: flow runs through the API
// (backfill: backfill.ts; restart, rerun: restart.ts).
import type { Command } from 'commander';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { parseLabels, withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import { EXIT } from '../../client/exit-codes.js';
import { formatDuration, formatInstant, printFields, printJson, printTable } from '../format.js';
import { addBackfillCommand } from './backfill.js';
import { addWhyCommand } from './why.js';
import { addRestartCommands } from './restart.js';
import { isRunState, runStates, type FlowRunStateType } from '../../contract/states.js';
import type {
  CancelFlowRunMutation,
  CancelFlowRunMutationVariables,
  CreateFlowRunInput,
  CreateFlowRunMutation,
  CreateFlowRunMutationVariables,
  FlowIdQuery,
  FlowIdQueryVariables,
  FlowRunFilter,
  FlowRunQuery,
  FlowRunQueryVariables,
  FlowRunsQuery,
  FlowRunsQueryVariables,
  RunSummaryFieldsFragment,
} from '../../schema/generated/operations.js';
import { followRun, formatLogLine, runNotFound, type RunStatus } from './logs.js';

/** Every flow-run state, as `--state` accepts them. */
export const RUN_STATES = runStates;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Largest page the server serves. */
const MAX_PAGE = 500;

const RUN_SUMMARY_FIELDS = /* GraphQL */ `
  fragment RunSummaryFields on FlowRun {
    id state stateReason stateMessage attempt labels priority createdAt scheduledAt startedAt endedAt waitReason
    flow { id name project { name } }
    flowVersion { id number retries }
  }
`;

export const FLOW_RUNS_QUERY = /* GraphQL */ `
  query FlowRuns($filter: FlowRunFilter, $first: Int, $after: String) {
    flowRuns(filter: $filter, first: $first, after: $after) {
      nodes { ...RunSummaryFields }
      pageInfo { endCursor hasNextPage }
    }
  }
  ${RUN_SUMMARY_FIELDS}
`;

export const FLOW_RUN_QUERY = /* GraphQL */ `
  query FlowRun($id: ID!) {
    flowRun(id: $id) {
      ...RunSummaryFields
      version parameters idempotencyKey exitCode signal
      agent { id name }
      taskRuns { id key taskName mapIndex state stateMessage attempts startedAt endedAt }
      stateHistory { fromState toState reason message actor attempt at }
    }
  }
  ${RUN_SUMMARY_FIELDS}
`;

export const FLOW_ID_QUERY = /* GraphQL */ `
  query FlowId($project: String, $name: String) {
    flow(project: $project, name: $name) { id }
  }
`;

export const CREATE_FLOW_RUN_MUTATION = /* GraphQL */ `
  mutation CreateFlowRun($input: CreateFlowRunInput!) {
    createFlowRun(input: $input) { ...RunSummaryFields parameters idempotencyKey }
  }
  ${RUN_SUMMARY_FIELDS}
`;

export const CANCEL_FLOW_RUN_MUTATION = /* GraphQL */ `
  mutation CancelFlowRun($id: ID!) {
    cancelFlowRun(id: $id) { id state stateMessage }
  }
`;

/** A run as the list and create commands read it. */
type RunSummary = RunSummaryFieldsFragment;

/** A run as `runs get` reads it. */
type RunDetails = NonNullable<FlowRunQuery['flowRun']>;

interface ListOptions extends ApiOptions {
  flow?: string;
  project: string;
  state?: string;
  label?: string;
  limit: number;
}

interface CreateOptions extends ApiOptions {
  project: string;
  param: string[];
  label: string[];
  priority?: number;
  idempotencyKey?: string;
  watch: boolean;
}

/** Registers `fluxo runs ...`. */
export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('list, inspect, create, cancel, backfill, restart and rerun flow runs');

  withApiOptions(
    runs
      .command('list')
      .description('list flow runs, newest first')
      .option('--flow <id-or-name>', 'only runs of this flow (an id, or a name in --project)')
      .option('--project <name>', 'project of a --flow given by name', 'production')
      .option('--state <states>', `only runs in these states, comma-separated (${RUN_STATES.join(', ')})`)
      .option('--label <label>', 'only runs that carry this label')
      .option('--limit <n>', 'at most this many runs', positiveInteger('limit'), 50),
  ).action(async (options: ListOptions) =>
    withClient(options, async (client) => {
      const filter: FlowRunFilter = {};
      if (options.flow) filter.flowId = await resolveFlowId(client, options.flow, options.project);
      if (options.state) filter.states = parseStates(options.state);
      if (options.label) filter.label = options.label;
      const found = await listRuns(client, filter, options.limit);
      if (options.json) return printJson(found);
      printTable(
        ['ID', 'FLOW', 'STATE', 'ATTEMPT', 'LABELS', 'CREATED', 'DURATION', 'NOTE'],
        found.map((run) => [
          run.id,
          `${run.flow.project.name}/${run.flow.name} v${run.flowVersion.number}`,
          run.state,
          run.attempt,
          run.labels.join(','),
          formatInstant(run.createdAt),
          formatDuration(run.startedAt, run.endedAt),
          noteOf(run),
        ]),
        'no flow runs match',
      );
    }),
  );

  withApiOptions(runs.command('get').description('show one flow run with its task runs and state history').argument('<run-id>', 'the flow run id')).action(
    async (runId: string, options: ApiOptions) =>
      withClient(options, async (client) => {
        const { flowRun: run } = await client.request<FlowRunQuery>(FLOW_RUN_QUERY, { id: runId } satisfies FlowRunQueryVariables);
        if (!run) throw runNotFound(runId);
        if (options.json) return printJson(run);
        printRunDetails(run);
      }),
  );

  withApiOptions(
    runs
      .command('create')
      .description('create a flow run (by flow name in --project, or by flow id)')
      .argument('<flow>', 'flow name (in --project) or flow id')
      .option('--project <name>', 'project of the flow', 'production')
      .option('--param <key=value>', 'a parameter (repeatable); values are strings the server coerces to the flow\'s schema', collect, [])
      .option('--label <label>', 'routing label (repeatable, or comma-separated); default: the flow version\'s labels', collect, [])
      .option('--priority <n>', 'claim priority (higher first)', integer('priority'))
      .option('--idempotency-key <key>', 'creating again with the same key returns the first run')
      .option('-w, --watch', 'follow states and logs until the run ends; the exit code reflects the final state', false),
  )
    .addHelpText('after', '\nExit codes with --watch: 0 the run ended SUCCESS, 1 it ended in another final state.\nWith --watch --json, events are printed as JSON Lines ({"type":"run"|"state"|"log"|"result", ...}).')
    .action(async (flow: string, options: CreateOptions) =>
      withClient(options, async (client) => {
        const input: CreateFlowRunInput = UUID.test(flow) ? { flowId: flow } : { project: options.project, flowName: flow };
        const parameters = parseParams(options.param);
        if (Object.keys(parameters).length > 0) input.parameters = parameters;
        const labels = options.label.flatMap((value) => parseLabels(value));
        if (labels.length > 0) input.labels = labels;
        if (options.priority !== undefined) input.priority = options.priority;
        if (options.idempotencyKey) input.idempotencyKey = options.idempotencyKey;
        const { createFlowRun: run } = await client.request<CreateFlowRunMutation>(CREATE_FLOW_RUN_MUTATION, { input } satisfies CreateFlowRunMutationVariables);

        if (!options.watch) {
          if (options.json) return printJson(run);
          process.stdout.write(`created run ${run.id} of ${run.flow.project.name}/${run.flow.name} v${run.flowVersion.number} (${run.state})\n`);
          return;
        }
        const line = options.json
          ? (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)
          : undefined;
        if (line) line({ type: 'run', run });
        else process.stdout.write(`run ${run.id} of ${run.flow.project.name}/${run.flow.name} v${run.flowVersion.number}\n`);
        const final = await followRun(client, run.id, {
          onState: (status) => (line ? line({ type: 'state', ...status }) : process.stdout.write(`${formatState(status)}\n`)),
          onLog: (log) => (line ? line({ type: 'log', ...log }) : process.stdout.write(`  ${formatLogLine(log)}\n`)),
        });
        if (line) line({ type: 'result', id: final.id, state: final.state, attempt: final.attempt });
        else process.stdout.write(`run ${final.id} ended ${final.state}${final.stateReason ? ` (${final.stateReason})` : ''}\n`);
        process.exitCode = final.state === 'SUCCESS' ? EXIT.ok : EXIT.runNotSuccessful;
      }),
    );

  withApiOptions(runs.command('cancel').description('cancel a run: a scheduled run becomes CANCELLED, a running one CANCELLING until its agent stops it').argument('<run-id>', 'the flow run id')).action(
    async (runId: string, options: ApiOptions) =>
      withClient(options, async (client) => {
        const { cancelFlowRun: run } = await client.request<CancelFlowRunMutation>(CANCEL_FLOW_RUN_MUTATION, { id: runId } satisfies CancelFlowRunMutationVariables);
        if (options.json) return printJson(run);
        process.stdout.write(`run ${run.id}: ${run.state}\n`);
      }),
  );

  addBackfillCommand(runs);
  addWhyCommand(runs);
  addRestartCommands(runs);
}

async function listRuns(client: GraphQLClient, filter: FlowRunFilter, limit: number): Promise<RunSummary[]> {
  const found: RunSummary[] = [];
  let after: string | null = null;
  while (found.length < limit) {
    const data: FlowRunsQuery = await client.request(FLOW_RUNS_QUERY, {
      filter,
      first: Math.min(limit - found.length, MAX_PAGE),
      after,
    } satisfies FlowRunsQueryVariables);
    found.push(...data.flowRuns.nodes);
    if (!data.flowRuns.pageInfo.hasNextPage || !data.flowRuns.pageInfo.endCursor) break;
    after = data.flowRuns.pageInfo.endCursor;
  }
  return found.slice(0, limit);
}

/** A flow id from an id, or from a name in a project (NOT_FOUND when there is no such flow). */
export async function resolveFlowId(client: GraphQLClient, flow: string, project: string): Promise<string> {
  if (UUID.test(flow)) return flow;
  const { flow: found } = await client.request<FlowIdQuery>(FLOW_ID_QUERY, { project, name: flow } satisfies FlowIdQueryVariables);
  if (!found) throw new FluxoError('NOT_FOUND', `flow "${flow}" not found in project "${project}" (list flows with \`fluxo flows list\`)`);
  return found.id;
}

/** `SUCCESS,failed, timed-out` → ['SUCCESS', 'FAILED', 'TIMED_OUT']; BAD_USER_INPUT for an unknown state. */
export function parseStates(value: string): FlowRunStateType[] {
  const states = value.split(',').map((state) => state.trim().toUpperCase().replace(/-/g, '_')).filter(Boolean);
  const unknown = states.find((state) => !isRunState(state));
  if (unknown !== undefined || states.length === 0) {
    throw new FluxoError('BAD_USER_INPUT', `--state ${JSON.stringify(unknown ?? value)} is not a run state; use one or more of ${RUN_STATES.join(', ')}`);
  }
  return states.filter(isRunState);
}

/**
 * `['year=2024', 'city=Rio de Janeiro']` → `{ year: '2024', city: 'Rio de Janeiro' }`. Values stay
 * strings: the server validates and coerces them against the flow version's parameter schema.
 */
export function parseParams(pairs: string[]): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new FluxoError('BAD_USER_INPUT', `--param ${JSON.stringify(pair)} is not key=value`);
    const key = pair.slice(0, equals).trim();
    if (Object.hasOwn(parameters, key)) throw new FluxoError('BAD_USER_INPUT', `--param "${key}" is given twice`);
    parameters[key] = pair.slice(equals + 1);
  }
  return parameters;
}

function printRunDetails(run: RunDetails): void {
  printFields([
    ['run', run.id],
    ['flow', `${run.flow.project.name}/${run.flow.name} v${run.flowVersion.number}`],
    ['state', `${run.state}${run.stateReason ? ` (${run.stateReason})` : ''}`],
    ['message', run.stateMessage],
    ['wait reason', run.waitReason],
    ['attempt', `${run.attempt} of ${run.flowVersion.retries + 1}`],
    ['parameters', JSON.stringify(run.parameters)],
    ['labels', run.labels.join(',')],
    ['priority', run.priority],
    ['idempotency key', run.idempotencyKey],
    ['agent', run.agent?.name],
    ['scheduled', formatInstant(run.scheduledAt)],
    ['started', formatInstant(run.startedAt)],
    ['ended', formatInstant(run.endedAt)],
    ['duration', formatDuration(run.startedAt, run.endedAt)],
    ['exit', run.signal ? `signal ${run.signal}` : run.exitCode],
  ]);
  process.stdout.write('\nTask runs\n');
  printTable(
    ['KEY', 'STATE', 'ATTEMPTS', 'STARTED', 'DURATION', 'MESSAGE'],
    run.taskRuns.map((task) => [task.key, task.state, task.attempts, formatInstant(task.startedAt), formatDuration(task.startedAt, task.endedAt), task.stateMessage]),
    '(none)',
    { emptyTo: 'stdout' },
  );
  process.stdout.write('\nState history\n');
  printTable(
    ['AT', 'FROM', 'TO', 'ATTEMPT', 'ACTOR', 'REASON', 'MESSAGE'],
    run.stateHistory.map((step) => [formatInstant(step.at), step.fromState, step.toState, step.attempt, step.actor, step.reason, step.message]),
    '(none)',
    { emptyTo: 'stdout' },
  );
}

/** A state change for people: `RUNNING (attempt 1)` plus reason and message. */
function formatState(run: RunStatus): string {
  const why = [run.stateReason, run.stateMessage].filter(Boolean).join(': ');
  return `${new Date().toISOString()} state ${run.state} (attempt ${run.attempt})${why ? ` ${why}` : ''}`;
}

/** What the NOTE column says: why a run waits, or why it ended as it did. */
function noteOf(run: RunSummary): string | null {
  if (run.state === 'SCHEDULED' && run.waitReason) return run.waitReason;
  return run.stateReason ?? (run.state === 'SUCCESS' ? null : run.stateMessage);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new FluxoError('BAD_USER_INPUT', `--${name} must be a whole number, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

function positiveInteger(name: string): (value: string) => number {
  return (value) => {
    const parsed = integer(name)(value);
    if (parsed < 1) throw new FluxoError('BAD_USER_INPUT', `--${name} must be at least 1, got ${parsed}`);
    return parsed;
  };
}
