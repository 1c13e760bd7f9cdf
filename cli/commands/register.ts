// `fluxo register PATHS... --project P`: bundle every flow module under PATHS (files, directories,
// globs), upload the bundles the server does not have yet (content-addressed, create-only) and
// record one flow version per exported flow whose content changed. CI runs it on every push: an
// unchanged repository uploads nothing and creates nothing. The work is in ../register-modules.ts.
import { Option, type Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { clientFrom, parseLabels, withApiOptions, type ApiOptions } from '../api-options.js';
import { EXIT } from '../../client/exit-codes.js';
import { progressLine, type Progress } from '../progress.js';
import { parseScheduleState } from './schedules.js';
import { registerFlowFiles, type RegisteredFlow, type RegistrationPhase, type RegistrationReport } from '../register-modules.js';

export { registerFlowFiles, type RegisteredFlow, type RegistrationReport };
export type { RegisterFlowFilesOptions } from '../register-modules.js';

interface RegisterCommandOptions extends ApiOptions {
  project: string;
  labels?: string;
  storage?: string;
  schedules?: string;
  concurrency?: string;
  cache: boolean;
}

/** Registers `fluxo register`. */
export function registerRegisterCommand(program: Command): void {
  withApiOptions(
    program
      .command('register')
      .description('bundle flow modules, upload new bundles to code storage and register their flows')
      .argument('<paths...>', 'flow modules (.ts .mts .js .mjs), directories (walked, skipping node_modules, dot-directories, *.test.* and .d.ts) or globs; every exported flow is registered')
      .requiredOption('--project <name>', 'project to register into (env FLUXO_PROJECT)', process.env.FLUXO_PROJECT || undefined)
      .option('--labels <a,b>', "default routing labels, replacing the flows' own")
      .option('--storage <uri>', "code storage: file:///dir, gs://bucket/prefix or a local directory; {tenant} becomes the caller's tenant, e.g. gs://fluxo-code/{tenant} (env FLUXO_STORAGE)", process.env.FLUXO_STORAGE || undefined)
      .option('--schedules <state>', 'how the schedule of a flow registered with clocks for the first time starts: active or paused (later registrations keep the operator\'s switch)')
      .option('--concurrency <n>', 'bundles loaded and uploaded at once (default: the number of CPUs, at least 2)')
      .addOption(new Option('--no-cache', 'bundle and load every module again, ignoring the registration cache ($FLUXO_CACHE_DIR, else $XDG_CACHE_HOME/fluxo, else ~/.cache/fluxo)')),
  ).action(async (paths: string[], options: RegisterCommandOptions) => {
    if (!options.storage) throw new FluxoError('BAD_USER_INPUT', 'no code storage: pass --storage or set FLUXO_STORAGE');
    const scheduleState = options.schedules === undefined ? undefined : parseScheduleState(options.schedules, '--schedules');
    const concurrency = parseConcurrency(options.concurrency);
    const client = clientFrom(options);
    const progress = phaseProgress();
    let report: RegistrationReport;
    try {
      report = await registerFlowFiles(client, {
        paths,
        project: options.project,
        storage: options.storage,
        labels: options.labels === undefined ? undefined : parseLabels(options.labels),
        scheduleState,
        concurrency,
        cacheDir: options.cache ? undefined : false,
        onProgress: progress.update,
      });
    } finally {
      progress.done();
      await client.close();
    }
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : humanReport(report));
    if (report.summary.failed > 0) process.exitCode = EXIT.registrationFailed;
  });
}


function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new FluxoError('BAD_USER_INPUT', `--concurrency must be an integer from 1 to 64, not "${value}"`);
  return n;
}

/** One progress line on a terminal's stderr, relabelled as the phases go: "bundling 120/800". */
function phaseProgress(): { update: (phase: RegistrationPhase, done: number, total: number) => void; done: () => void } {
  let current: { phase: RegistrationPhase; line: Progress } | undefined;
  return {
    update(phase, done, total) {
      if (current?.phase !== phase) {
        current?.line.done();
        current = { phase, line: progressLine(phase) };
      }
      if (total > 0) current.line.update(done, total);
    },
    done() {
      current?.line.done();
    },
  };
}

/** New flows and failures (with their reasons), then "N new, M unchanged, F failed[, S skipped]". */
function humanReport({ summary, flows }: RegistrationReport): string {
  const lines: string[] = [];
  for (const flow of flows) {
    if (flow.status === 'new') lines.push(`new ${flow.name} v${flow.version} (${flow.path})`);
  }
  for (const flow of flows) {
    if (flow.status !== 'failed') continue;
    const what = flow.name === null ? flow.path : `${flow.name} (${flow.path})`;
    lines.push(`failed ${what}: [${flow.error?.code}] ${flow.error?.message}`);
  }
  const skipped = summary.skipped > 0 ? `, ${summary.skipped} skipped` : '';
  lines.push(`${summary.new} new, ${summary.unchanged} unchanged, ${summary.failed} failed${skipped}`);
  return `${lines.join('\n')}\n`;
}
