// `fluxo runs backfill FLOW --from ISO --to ISO`: one run per clock time in [from, to) of the
// flow's clocks, computed by the server in each clock's time zone. Each run carries an idempotency
// key made of the flow, the clock, the time and the parameters, so running the same backfill again
// (after an interruption, or by mistake) creates nothing new. The server handles the range in
// batches; this command loops over them and shows progress on a terminal.
import type { Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { BackfillInput, BackfillMutation, BackfillMutationVariables } from '../../schema/generated/operations.js';
import { formatInstant, printJson } from '../format.js';
import { progressLine } from '../progress.js';
import { parseParams } from './runs.js';

const BACKFILL_MUTATION = /* GraphQL */ `
  mutation Backfill($input: BackfillInput!) {
    backfillFlowRuns(input: $input) {
      total created existing nextFrom
      flowRuns { id scheduledAt state }
    }
  }
`;

interface BackfillOptions extends ApiOptions {
  project: string;
  from: string;
  to: string;
  clock?: number;
  param: string[];
}

/** What `fluxo runs backfill --json` prints. */
export interface BackfillResult {
  project: string;
  flow: string;
  from: string;
  to: string;
  clock: number | null;
  total: number;
  created: number;
  existing: number;
  flowRuns: BackfillMutation['backfillFlowRuns']['flowRuns'];
}

/** Runs per request: small enough for a responsive progress bar, large enough to be quick. */
const BATCH = 500;

/** Adds `backfill` to `fluxo runs`. */
export function addBackfillCommand(runs: Command): void {
  withApiOptions(
    runs
      .command('backfill')
      .description("create one run per clock time of a flow's schedule in [--from, --to), oldest first; running it again creates nothing new")
      .argument('<flow>', 'flow name (in --project)')
      .option('--project <name>', 'project of the flow', 'production')
      .requiredOption('--from <instant>', 'first instant, inclusive: RFC 3339 with a zone (2018-11-01T00:00:00-03:00)')
      .requiredOption('--to <instant>', 'last instant, exclusive')
      .option('--clock <n>', "only this clock (its index in `fluxo schedules list`); default every clock", clockIndex)
      .option('--param <key=value>', "a parameter merged over each clock's own (repeatable)", (value: string, previous: string[]) => [...previous, value], []),
  ).action(async (flow: string, options: BackfillOptions) =>
    withClient(options, async (client) => {
      const parameters = parseParams(options.param);
      const progress = progressLine('backfilling');
      const result: BackfillResult = { project: options.project, flow, from: options.from, to: options.to, clock: options.clock ?? null, total: 0, created: 0, existing: 0, flowRuns: [] };
      let from: string | null = options.from;
      try {
        while (from !== null) {
          const input: BackfillInput = { project: options.project, flowName: flow, from, to: options.to, limit: BATCH };
          if (options.clock !== undefined) input.clock = options.clock;
          if (Object.keys(parameters).length > 0) input.parameters = parameters;
          const { backfillFlowRuns: page } = await client.request<BackfillMutation>(BACKFILL_MUTATION, { input } satisfies BackfillMutationVariables);
          // The total is counted over [from, to) of each call; the first call's covers the whole range.
          if (from === options.from) result.total = page.total;
          result.created += page.created;
          result.existing += page.existing;
          result.flowRuns.push(...page.flowRuns);
          progress.update(result.flowRuns.length, result.total);
          if (page.nextFrom !== null && page.nextFrom <= from) throw new FluxoError('INTERNAL_SERVER_ERROR', `the server answered nextFrom ${page.nextFrom} for a batch from ${from}`);
          from = page.nextFrom;
        }
      } finally {
        progress.done();
      }
      if (options.json) return printJson(result);
      if (result.total === 0) {
        process.stdout.write(`no clock time of ${options.project}/${flow} falls in [${options.from}, ${options.to})\n`);
        return;
      }
      const first = result.flowRuns[0]?.scheduledAt;
      const last = result.flowRuns.at(-1)?.scheduledAt;
      process.stdout.write(
        `backfill of ${options.project}/${flow}: ${result.total} run(s) from ${formatInstant(first)} to ${formatInstant(last)}: ${result.created} created, ${result.existing} already there\n`,
      );
    }),
  );
}

function clockIndex(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new FluxoError('BAD_USER_INPUT', `--clock must be a clock index (0, 1, ...; see \`fluxo schedules list\`), got ${JSON.stringify(value)}`);
  return Number(value);
}
