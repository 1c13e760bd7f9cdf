// `fluxo run PATH`: bundle a flow module and run one of its flows in this process, without a
// server. The bundle is the one `fluxo register` would upload, so a local run exercises the same
// code an agent runs; parameters get the same coercion the server applies.
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import type { Command } from 'commander';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { FluxoError } from '../../common/errors.js';
import { readDataSettings } from '../../data/config.js';
import { DataError, type DataSettings, type Materialization } from '../../data/contract.js';
import { failureOf } from '../../sdk/runtime/failure.js';
import { createLocalHost } from '../../sdk/runtime/local-host.js';
import type { FlowHandle, SerializedFailure } from '../../sdk/runtime/protocol.js';
import { EXIT } from '../../client/exit-codes.js';
import { loadFlowFile, type LoadedFlow } from '../load-flows.js';
import { createLocalData } from '../local-data.js';

export interface RunOptions {
  /** Flow name or export name; required when the module exports several flows. */
  flow?: string;
  /** `key=value` pairs. */
  param: string[];
  json: boolean;
  /** Data settings file for fluxo/data (env FLUXO_DATA_CONFIG). */
  dataConfig?: string;
  /** `file:///dir` or `gs://bucket/prefix` (env FLUXO_LAKE). */
  lake?: string;
  /** `duckdb:///file.duckdb` or `bigquery://project` (env FLUXO_WAREHOUSE). */
  warehouse?: string;
  /** The dbt project folder (env FLUXO_DBT_PROJECT). */
  dbtProject?: string;
}

/** One parameter violation, as `INVALID_PARAMETERS` details list them. */
export interface ParameterViolation {
  /** Dotted path of the parameter (`year`, `filters.city`). */
  field: string;
  message: string;
}

/** Registers `fluxo run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a flow locally, in this process, without a server (task states and logs go to the terminal)')
    .argument('<path>', 'flow module (.ts or .js) exporting one or more flows')
    .option('--flow <name>', 'flow name or export name, when the module exports several flows')
    .option('--param <key=value>', 'a parameter, coerced to the flow\'s parameter schema (repeatable)', collect, [])
    .option('--json', 'print task states, logs and the result as JSON lines', false)
    .option('--data-config <file>', 'data settings for fluxo/data: JSON with lake, warehouse, dbt, google (env FLUXO_DATA_CONFIG)')
    .option('--lake <uri>', 'the lake fluxo/data writes: file:///absolute/dir or gs://bucket/prefix (env FLUXO_LAKE)')
    .option('--warehouse <uri>', 'the warehouse: duckdb:///absolute/file.duckdb or bigquery://project[?location=EU] (env FLUXO_WAREHOUSE)')
    .option('--dbt-project <dir>', 'the dbt project dbtBuild() runs, the folder with dbt_project.yml (env FLUXO_DBT_PROJECT)')
    .addHelpText('after', '\nExit codes: 0 the flow succeeded, 1 it failed, 2 bad input (unknown flow, invalid parameters).')
    .action(async (path: string, options: RunOptions) => {
      process.exit(await runFlowFile(path, options));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Bundles `path`, picks the flow, validates and coerces the parameters, runs it with a local host
 * and resolves to the exit code (0 success, 1 failure). Bad input throws FluxoError.
 */
export async function runFlowFile(path: string, options: RunOptions): Promise<number> {
  const { flows } = await loadFlowFile(path);
  const { handle } = pickFlow(flows, path, options.flow);
  const { definition } = handle;
  const parameters = coerceParameters(definition.name, definition.parameterSchema, parseParamPairs(options.param, definition.parameterSchema));

  const settings = localDataSettings(options);
  const write = (line: string): void => void process.stdout.write(`${line}\n`);
  // The host's log() is bound below; data lines go through it once it exists.
  let log: (event: Parameters<ReturnType<typeof createLocalHost>['log']>[0]) => void = () => {};
  const data = createLocalData(settings, {
    log: (event) => log(event),
    onRecord: (materialization, taskRunKey) => write(options.json ? JSON.stringify({ type: 'materialization', taskRunKey, ...materialization }) : describeMaterialization(materialization, taskRunKey)),
  });
  const host = createLocalHost({ json: options.json, write, data: data.host });
  log = (event) => host.log(event);
  const started = performance.now();
  if (!options.json) write(`running flow "${definition.name}" with ${JSON.stringify(parameters)}`);
  // Ctrl-C: a signal ends Node without its exit handlers, and the flow's commands run in process
  // groups of their own: stop them (and close the DuckDB file) first.
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    setTimeout(() => process.exit(code), 10_000).unref();
    void data.close().finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const outcome = await runWithTimeout(handle, parameters, host, definition.timeoutSeconds).finally(() => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    return data.close();
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);

  if (outcome.ok) {
    if (options.json) write(JSON.stringify({ type: 'result', ok: true, flow: definition.name, seconds: Number(seconds), value: outcome.value ?? null }));
    else write(`flow "${definition.name}" succeeded in ${seconds} s${outcome.value === undefined ? '' : `: ${preview(outcome.value)}`}`);
    return EXIT.ok;
  }
  const { failure } = outcome;
  if (failure.reason === 'invalid-parameters') {
    throw new FluxoError('INVALID_PARAMETERS', failure.message);
  }
  if (options.json) {
    write(JSON.stringify({ type: 'result', ok: false, flow: definition.name, seconds: Number(seconds), failure }));
  } else {
    process.stderr.write(`flow "${definition.name}" failed after ${seconds} s (${failure.reason}): ${failure.type}: ${failure.message}\n`);
    if (failure.stack) process.stderr.write(`${failure.stack}\n`);
  }
  return EXIT.runNotSuccessful;
}

/** The data settings of a local run: --data-config, then the environment, then the flags. */
function localDataSettings(options: RunOptions): Readonly<DataSettings> {
  try {
    return readDataSettings({
      dataConfigFile: options.dataConfig,
      env: process.env,
      // A folder on the command line may be relative to where the command runs.
      flags: { lake: options.lake, warehouse: options.warehouse, dbtProject: options.dbtProject === undefined ? undefined : resolve(options.dbtProject) },
    });
  } catch (error) {
    if (error instanceof DataError) throw new FluxoError('BAD_USER_INPUT', `${error.code}: ${error.message}`, { cause: error, details: { setting: 'data' } });
    throw error;
  }
}

/** One line per recorded write: `wrote lake br_ibge_pib.municipio (append): 120 rows, 3 partitions, file:///…`. */
function describeMaterialization(m: Materialization, taskRunKey: string | null): string {
  const name = m.table ? `${m.dataset}.${m.table}` : m.dataset;
  const counts = [m.rows === null ? null : `${m.rows} rows`, m.partitions.length ? `${m.partitions.length} partition${m.partitions.length > 1 ? 's' : ''}` : null].filter(Boolean);
  return `wrote ${m.kind} ${name}${m.mode ? ` (${m.mode})` : ''}${taskRunKey ? ` in ${taskRunKey}` : ''}: ${[...counts, m.uri].join(', ')}`;
}

function pickFlow(flows: LoadedFlow[], path: string, wanted: string | undefined): LoadedFlow {
  const listing = flows.map(({ exportName, handle }) => `${handle.definition.name} (export ${exportName})`).join(', ');
  if (wanted !== undefined) {
    const found = flows.find(({ exportName, handle }) => handle.definition.name === wanted || exportName === wanted);
    if (!found) throw new FluxoError('BAD_USER_INPUT', `${path} has no flow "${wanted}"; it exports: ${listing}`);
    return found;
  }
  if (flows.length > 1) throw new FluxoError('BAD_USER_INPUT', `${path} exports several flows; choose one with --flow: ${listing}`);
  return flows[0]!;
}

/**
 * Turns `key=value` pairs into an object. Values stay strings (the schema coerces them), except
 * JSON objects and arrays for parameters whose schema expects one.
 */
export function parseParamPairs(pairs: string[], schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, { type?: unknown } | undefined>;
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new FluxoError('BAD_USER_INPUT', `--param "${pair}" is not key=value`);
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (Object.hasOwn(parameters, key)) throw new FluxoError('INVALID_PARAMETERS', `parameter "${key}" is given twice`, { details: [{ field: key, message: 'given twice' }] });
    const types = [properties[key]?.type].flat();
    const structured = types.includes('object') || types.includes('array');
    if (structured && /^\s*[[{]/.test(value)) {
      try {
        parameters[key] = JSON.parse(value);
        continue;
      } catch (error) {
        throw new FluxoError('INVALID_PARAMETERS', `parameter "${key}" is not valid JSON: ${(error as Error).message}`, {
          details: [{ field: key, message: 'is not valid JSON' }],
          cause: error,
        });
      }
    }
    parameters[key] = value;
  }
  return parameters;
}

/**
 * Validates `parameters` against a flow's JSON Schema, coercing strings (`"2010"` to 2010) and
 * filling defaults. Violations throw INVALID_PARAMETERS naming each field, with `details`.
 */
export function coerceParameters(flowName: string, schema: Record<string, unknown>, parameters: Record<string, unknown>): Record<string, unknown> {
  // Formats are the SDK's to check (zod parses again inside the flow); ajv only needs types here.
  const ajv = new Ajv2020({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false, validateFormats: false, logger: false });
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `flow "${flowName}" declares a parameter schema that cannot be compiled: ${(error as Error).message}`, { cause: error });
  }
  const data = structuredClone(parameters);
  if (validate(data)) return data;
  const violations = (validate.errors ?? []).map(violationOf);
  throw new FluxoError(
    'INVALID_PARAMETERS',
    `invalid parameters for flow "${flowName}": ${violations.map(({ field, message }) => `${field}: ${message}`).join('; ')}`,
    { details: violations },
  );
}

function violationOf(error: ErrorObject): ParameterViolation {
  const path = error.instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required' && params.missingProperty) path.push(params.missingProperty);
  if (error.keyword === 'additionalProperties' && params.additionalProperty) {
    return { field: [...path, params.additionalProperty].join('.'), message: 'is not a parameter of this flow' };
  }
  return { field: path.join('.') || '(parameters)', message: error.message ?? error.keyword };
}

type Outcome = { ok: true; value: unknown } | { ok: false; failure: SerializedFailure };

async function runWithTimeout(
  handle: FlowHandle,
  parameters: Record<string, unknown>,
  host: ReturnType<typeof createLocalHost>,
  timeoutSeconds: number | null,
): Promise<Outcome> {
  const run = handle.run(parameters, host).then(
    (value): Outcome => ({ ok: true, value }),
    (error: unknown): Outcome => ({ ok: false, failure: failureOf(error) }),
  );
  if (timeoutSeconds === null) return run;
  // Under an agent the flow timeout kills the process; here the command exits once it reports.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, failure: { type: 'FlowTimeout', message: `the flow exceeded its ${timeoutSeconds} s timeout`, reason: 'timeout' } }),
      timeoutSeconds * 1000,
    );
  });
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : inspect(value, { depth: 4, breakLength: Infinity, maxArrayLength: 20 });
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
