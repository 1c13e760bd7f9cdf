// `fluxo schedules list | pause | resume`: the operator's switch of flow schedules. The clocks
// come from the flow's code (registered from CI); whether they run is the operator's, and a
// re-registration never changes it.
import type { Command } from 'commander';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type {
  PauseScheduleMutation,
  PauseScheduleMutationVariables,
  ResumeScheduleMutation,
  ScheduleFieldsFragment,
  ScheduleState,
  SchedulesQuery,
  SchedulesQueryVariables,
} from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

// A fragment appended to each document, so each is valid GraphQL alone (codegen types it).
export const SCHEDULE_FIELDS = /* GraphQL */ `
  fragment ScheduleFields on FlowSchedule {
    state missedRuns catchUpLimit nextRunAt stateChangedAt stateChangedBy
    flow { id name project { name } latestVersion { number } }
    clocks { key index cron timezone everySeconds anchor parameters labels nextTimes(count: 3) }
  }
`;

// Each schedule carries its clocks (up to 50) and their next times: pages of 25 keep the query
// under the server's cost limit.
export const SCHEDULES_QUERY = /* GraphQL */ `
  query Schedules($project: String, $state: ScheduleState, $after: String) {
    schedules(project: $project, state: $state, first: 25, after: $after) {
      nodes { ...ScheduleFields }
      pageInfo { endCursor hasNextPage }
    }
  }
  ${SCHEDULE_FIELDS}
`;

const PAUSE_MUTATION = /* GraphQL */ `
  mutation PauseSchedule($project: String, $flowName: String!) {
    pauseSchedule(project: $project, flowName: $flowName) { ...ScheduleFields }
  }
  ${SCHEDULE_FIELDS}
`;

const RESUME_MUTATION = /* GraphQL */ `
  mutation ResumeSchedule($project: String, $flowName: String!) {
    resumeSchedule(project: $project, flowName: $flowName) { ...ScheduleFields }
  }
  ${SCHEDULE_FIELDS}
`;

/** A flow schedule as the API shows it. */
export type ScheduleView = ScheduleFieldsFragment;

/** A clock as the API shows it. */
export type ClockView = ScheduleView['clocks'][number];

interface ListOptions extends ApiOptions {
  project?: string;
  state?: string;
}

interface SwitchOptions extends ApiOptions {
  project: string;
}

/** Registers `fluxo schedules ...`. */
export function registerSchedulesCommand(program: Command): void {
  const schedules = program.command('schedules').description("flows' schedules: list them, pause and resume them");

  withApiOptions(
    schedules
      .command('list')
      .description('list the flows that declare clocks, with their state and next times')
      .option('--project <name>', 'only schedules of this project')
      .option('--state <state>', 'only active or only paused schedules (active, paused)'),
  ).action(async (options: ListOptions) =>
    withClient(options, async (client) => {
      const state = options.state === undefined ? null : parseScheduleState(options.state, '--state');
      const found = await listSchedules(client, options.project ?? null, state);
      if (options.json) return printJson(found);
      printTable(
        ['FLOW', 'STATE', 'CLOCKS', 'NEXT RUN', 'MISSED RUNS'],
        found.map((schedule) => [
          `${schedule.flow.project.name}/${schedule.flow.name} v${schedule.flow.latestVersion.number}`,
          schedule.state,
          schedule.clocks.map(describeClock).join('; '),
          formatInstant(nextRunOf(schedule)),
          schedule.missedRuns === 'SKIP' ? 'skip' : `catch-up (at most ${schedule.catchUpLimit})`,
        ]),
        options.project ? `no schedules in project "${options.project}"` : 'no flow declares a schedule (add `schedules` to a flow and register it)',
      );
    }),
  );

  for (const [verb, mutation, field] of [
    ['pause', PAUSE_MUTATION, 'pauseSchedule'],
    ['resume', RESUME_MUTATION, 'resumeSchedule'],
  ] as const) {
    const description =
      verb === 'pause'
        ? "pause a flow's schedule: no more runs are created and its future scheduled runs are removed (re-registration keeps it paused)"
        : "resume a flow's schedule: under the skip policy the next run is the next clock time after now; under catch-up the missed times get runs, up to the limit";
    withApiOptions(
      schedules.command(verb).description(description).argument('<flow>', 'flow name').option('--project <name>', 'project of the flow', 'production'),
    ).action(async (flow: string, options: SwitchOptions) =>
      withClient(options, async (client) => {
        // Pause and resume take the same variables and answer the same fragment.
        const data = await client.request<PauseScheduleMutation & ResumeScheduleMutation>(mutation, { project: options.project, flowName: flow } satisfies PauseScheduleMutationVariables);
        const schedule: ScheduleView = data[field];
        if (options.json) return printJson(schedule);
        const next = nextRunOf(schedule);
        process.stdout.write(`${schedule.flow.project.name}/${schedule.flow.name}: ${schedule.state}${next ? ` (next run ${formatInstant(next)})` : ''}\n`);
      }),
    );
  }
}

/** Every schedule matching the filters, page by page. */
export async function listSchedules(client: GraphQLClient, project: string | null, state: ScheduleState | null): Promise<ScheduleView[]> {
  const found: ScheduleView[] = [];
  let after: string | null = null;
  for (;;) {
    const data: SchedulesQuery = await client.request(SCHEDULES_QUERY, {
      project,
      state,
      after,
    } satisfies SchedulesQueryVariables);
    found.push(...data.schedules.nodes);
    if (!data.schedules.pageInfo.hasNextPage || !data.schedules.pageInfo.endCursor) return found;
    after = data.schedules.pageInfo.endCursor;
  }
}

/**
 * When an active schedule runs next: its earliest created run, else (nothing created yet) its
 * clocks' earliest next time. Null for a paused schedule.
 */
function nextRunOf(schedule: ScheduleView): string | null {
  if (schedule.state !== 'ACTIVE') return null;
  return schedule.nextRunAt ?? schedule.clocks.flatMap((clock) => clock.nextTimes).sort()[0] ?? null;
}

/** `active` / `PAUSED` → the API's enum; BAD_USER_INPUT otherwise. */
export function parseScheduleState(value: string, option: string): 'ACTIVE' | 'PAUSED' {
  const state = value.trim().toUpperCase();
  if (state !== 'ACTIVE' && state !== 'PAUSED') throw new FluxoError('BAD_USER_INPUT', `${option} must be active or paused, not ${JSON.stringify(value)}`);
  return state;
}

/** `cron "0 3 * * *" America/Sao_Paulo`, `every 15m from 2026-01-01 00:00:00Z`, with its parameters and labels. */
export function describeClock(clock: Pick<ClockView, 'index' | 'cron' | 'timezone' | 'everySeconds' | 'anchor' | 'parameters' | 'labels'>): string {
  const timing = clock.cron !== null ? `cron "${clock.cron}" ${clock.timezone ?? ''}`.trimEnd() : `every ${formatSeconds(clock.everySeconds ?? 0)}${clock.anchor && Date.parse(clock.anchor) !== 0 ? ` from ${formatInstant(clock.anchor)}` : ''}`;
  // JSON in the schema: an object of parameters, shown when it has any.
  const parameters = clock.parameters !== null && typeof clock.parameters === 'object' && Object.keys(clock.parameters).length > 0 ? ` ${JSON.stringify(clock.parameters)}` : '';
  const labels = clock.labels ? ` [${clock.labels.join(',')}]` : '';
  return `#${clock.index} ${timing}${parameters}${labels}`;
}

/** 900 → `15m`, 5400 → `1h30m`, 86400 → `1d`. */
function formatSeconds(total: number): string {
  const parts: string[] = [];
  let rest = total;
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}
