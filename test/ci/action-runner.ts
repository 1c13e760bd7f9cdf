// Runs a composite GitHub Action's steps the way the Actions runner does, for tests: the action's
// action.yml parsed, each `run:` step written to a script file and run as
// `bash --noprofile --norc -eo pipefail FILE` in a clean environment holding the GITHUB_* variables
// and file commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, GITHUB_PATH, fresh per step),
// `if:` conditions honoured, workflow commands read from stdout, and the action's outputs read from
// its `outputs:` mapping.
//
// Only the expression forms the register action uses are implemented: `inputs.*`,
// `steps.<id>.outputs.<key>`, `github.action_path`, `github.workspace`, `runner.temp`, `env.*`, and
// `always()` / `success()` / `failure()` / `cancelled()` as a whole `if:`. Any other `${{ }}` throws,
// so an action that grows a new form fails its test instead of being half-simulated.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';

/** The parts of action.yml this runner reads. */
export interface ActionMetadata {
  name: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export interface ActionStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}

/** A workflow command a step printed (`::error title=x::message`). */
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

export interface StepResult {
  id: string;
  name: string;
  /** `skipped` for a false `if:` and for the `uses:` steps the caller chose to skip. */
  outcome: 'success' | 'failure' | 'skipped';
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  commands: WorkflowCommand[];
}

export interface ActionRun {
  conclusion: 'success' | 'failure';
  outputs: Record<string, string>;
  steps: StepResult[];
  /** The job summary: every step's GITHUB_STEP_SUMMARY, in order. */
  summary: string;
  /** Values registered with `::add-mask::`. */
  masks: string[];
  /** Every workflow command of every step. */
  commands: WorkflowCommand[];
}

export interface RunActionOptions {
  /** The directory holding action.yml (GITHUB_ACTION_PATH). */
  actionPath: string;
  /** GITHUB_WORKSPACE: the checked-out repository. */
  workspace: string;
  /** RUNNER_TEMP: an empty directory. */
  runnerTemp: string;
  inputs: Record<string, string>;
  /** `uses:` steps to skip (prefixes like `actions/setup-node@`); any other `uses:` throws. */
  skipUses?: string[];
  /** More environment of the runner (PATH comes from this process). */
  env?: Record<string, string>;
  /** @default 300_000 */
  stepTimeoutMs?: number;
}

/** Reads and checks an action's metadata. */
export async function readAction(actionPath: string): Promise<ActionMetadata> {
  const metadata = parse(await readFile(join(actionPath, 'action.yml'), 'utf8')) as ActionMetadata;
  if (metadata.runs?.using !== 'composite') throw new Error(`${actionPath}: not a composite action (runs.using: ${String(metadata.runs?.using)})`);
  return metadata;
}

/** Runs the composite action at `options.actionPath` with `options.inputs`. */
export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const metadata = await readAction(options.actionPath);
  const inputs = resolveInputs(metadata, options.inputs);
  const commandsDir = join(options.runnerTemp, '_runner_file_commands');
  await mkdir(commandsDir, { recursive: true });

  // What GitHub's runner puts in every step's environment (the parts a script can see).
  const jobEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_ACTION_PATH: options.actionPath,
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'example/flows',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0'.repeat(40),
    RUNNER_TEMP: options.runnerTemp,
    RUNNER_OS: 'Linux',
    ...options.env,
  };
  const stepOutputs: Record<string, Record<string, string>> = {};
  const results: StepResult[] = [];
  const summaries: string[] = [];
  const masks: string[] = [];
  let failed = false;

  for (const [index, step] of metadata.runs.steps.entries()) {
    const id = step.id ?? `__run_${index}`;
    const name = step.name ?? step.uses ?? id;
    const context: Context = { inputs, steps: stepOutputs, env: jobEnv, options };
    const skipped = (): StepResult => ({ id, name, outcome: 'skipped', exitCode: null, stdout: '', stderr: '', outputs: {}, commands: [] });
    if (!evaluateCondition(step.if, failed)) {
      results.push(skipped());
      continue;
    }
    if (step.uses !== undefined) {
      if (!(options.skipUses ?? []).some((prefix) => step.uses!.startsWith(prefix))) throw new Error(`step ${name}: uses ${step.uses}, which this runner cannot run`);
      // Its `with:` must still be well-formed expressions.
      for (const value of Object.values(step.with ?? {})) substitute(String(value), context);
      results.push(skipped());
      continue;
    }
    if (step.run === undefined) throw new Error(`step ${name}: neither run nor uses`);
    if (step.shell !== 'bash') throw new Error(`step ${name}: shell ${String(step.shell)}; composite steps must name their shell, and this runner knows bash`);

    const files = {
      GITHUB_OUTPUT: join(commandsDir, `set_output_${randomUUID()}`),
      GITHUB_STEP_SUMMARY: join(commandsDir, `step_summary_${randomUUID()}`),
      GITHUB_ENV: join(commandsDir, `set_env_${randomUUID()}`),
      GITHUB_PATH: join(commandsDir, `add_path_${randomUUID()}`),
    };
    for (const file of Object.values(files)) await writeFile(file, '');
    const stepEnv: Record<string, string> = { ...jobEnv, ...files, GITHUB_ACTION: id };
    for (const [key, value] of Object.entries(step.env ?? {})) stepEnv[key] = substitute(String(value), context);
    const script = join(options.runnerTemp, `${randomUUID()}.sh`);
    await writeFile(script, substitute(step.run, context));
    const workingDirectory = step['working-directory'] === undefined ? options.workspace : resolve(options.workspace, substitute(step['working-directory'], context));
    if (!isAbsolute(workingDirectory)) throw new Error(`step ${name}: working directory ${workingDirectory}`);

    const result = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: workingDirectory,
      env: stepEnv,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: options.stepTimeoutMs ?? 300_000,
    });
    const stdout = String(result.stdout);
    const commands = workflowCommands(stdout);
    for (const command of commands) if (command.command === 'add-mask') masks.push(command.message);
    const outputs = parseFileCommand(await readFile(files.GITHUB_OUTPUT, 'utf8'));
    stepOutputs[id] = outputs;
    Object.assign(jobEnv, parseFileCommand(await readFile(files.GITHUB_ENV, 'utf8')));
    const added = (await readFile(files.GITHUB_PATH, 'utf8')).split('\n').filter(Boolean);
    if (added.length > 0) jobEnv.PATH = [...added.reverse(), jobEnv.PATH].join(':');
    summaries.push(await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'));
    const outcome = result.exitCode === 0 ? 'success' : 'failure';
    if (outcome === 'failure') failed = true;
    results.push({ id, name, outcome, exitCode: result.exitCode ?? null, stdout, stderr: String(result.stderr), outputs, commands });
  }

  const context: Context = { inputs, steps: stepOutputs, env: jobEnv, options };
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(metadata.outputs ?? {})) outputs[key] = substitute(output.value, context);
  return {
    conclusion: failed ? 'failure' : 'success',
    outputs,
    steps: results,
    summary: summaries.join(''),
    masks,
    commands: results.flatMap((step) => step.commands),
  };
}

interface Context {
  inputs: Record<string, string>;
  steps: Record<string, Record<string, string>>;
  env: Record<string, string>;
  options: RunActionOptions;
}

/** Inputs with their defaults; a missing required input or an unknown one throws (the runner warns). */
function resolveInputs(metadata: ActionMetadata, given: Record<string, string>): Record<string, string> {
  const declared = metadata.inputs ?? {};
  for (const key of Object.keys(given)) if (!(key in declared)) throw new Error(`unexpected input ${key}`);
  const inputs: Record<string, string> = {};
  for (const [key, input] of Object.entries(declared)) {
    const value = given[key] ?? input.default;
    if (value === undefined && input.required) throw new Error(`input required and not supplied: ${key}`);
    inputs[key] = value ?? '';
  }
  return inputs;
}

/** Replaces every `${{ expression }}` in `text`. */
function substitute(text: string, context: Context): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => evaluate(expression, context));
}

function evaluate(expression: string, { inputs, steps, env, options }: Context): string {
  let match: RegExpExecArray | null;
  if ((match = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expression))) {
    if (!(match[1]! in inputs)) throw new Error(`expression ${expression}: no such input`);
    return inputs[match[1]!]!;
  }
  // An output a skipped or unknown step never set is empty, as on GitHub.
  if ((match = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(expression))) return steps[match[1]!]?.[match[2]!] ?? '';
  if ((match = /^env\.([A-Za-z0-9_]+)$/.exec(expression))) return env[match[1]!] ?? '';
  if (expression === 'github.action_path') return options.actionPath;
  if (expression === 'github.workspace') return options.workspace;
  if (expression === 'runner.temp') return options.runnerTemp;
  throw new Error(`unsupported expression \${{ ${expression} }}`);
}

/** A step's `if:` (default `success()`), with or without `${{ }}`. */
function evaluateCondition(condition: string | undefined, failed: boolean): boolean {
  const expression = (condition ?? 'success()').trim().replace(/^\$\{\{\s*(.*?)\s*\}\}$/, '$1');
  switch (expression) {
    case 'success()':
      return !failed;
    case 'failure()':
      return failed;
    case 'always()':
      return true;
    case 'cancelled()':
      return false;
    default:
      throw new Error(`unsupported if: ${condition}`);
  }
}

/**
 * Reads a file command (GITHUB_OUTPUT, GITHUB_ENV): `key=value` lines and `key<<DELIMITER`
 * multi-line values.
 */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    if (heredoc && !line.includes('=')) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      if (end < 0) throw new Error(`file command: ${heredoc[1]} has no closing ${heredoc[2]}`);
      values[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) throw new Error(`file command: malformed line ${JSON.stringify(line)}`);
    values[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return values;
}

/** Workflow commands in a step's stdout, unescaped as the runner reads them. */
export function workflowCommands(stdout: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^::([a-z-]+)(?: ([^:]*(?::(?!:)[^:]*)*))?::(.*)$/.exec(line.replace(/\r$/, ''));
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const pair of (match[2] ?? '').split(',').filter(Boolean)) {
      const equals = pair.indexOf('=');
      properties[pair.slice(0, equals)] = unescapeProperty(pair.slice(equals + 1));
    }
    commands.push({ command: match[1]!, properties, message: unescapeData(match[3]!) });
  }
  return commands;
}

function unescapeData(text: string): string {
  return text.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%');
}

function unescapeProperty(text: string): string {
  return unescapeData(text.replaceAll('%3A', ':').replaceAll('%2C', ','));
}
