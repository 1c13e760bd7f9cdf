// flow(): a named pipeline with typed parameters. The returned handle is what a flow module
// exports, what `fluxo register` records and what the runtime in the child process runs.
import { secretNameProblem } from '../contract/names.js';
import { runContext, type RunContext } from './context.js';
import { assertName, checkLabelList, checkNumber, checkTimeout } from './options.js';
import { FlowFailure, TaskTimeoutError, serializeFailure } from './runtime/failure.js';
import { FLOW_MARKER, RUNTIME_PROTOCOL_VERSION, type FlowDefinition, type FlowHandle, type RuntimeHost } from './runtime/protocol.js';
import { checkSchedules, type ClockOptions, type MissedRuns } from './schedules.js';
import { describeIssue, type InputOf, type OutputOf, type ParameterSchema } from './standard-schema.js';

/** What a flow declares. Flow-level settings travel to the server with every registration. */
export interface FlowOptions<S extends ParameterSchema | undefined = undefined> {
  /** Shown in the UI and `fluxo flows list`. */
  description?: string;
  /**
   * A zod 4 object schema (any Standard Schema with Standard JSON Schema support works). The flow
   * function receives the parsed output; its input JSON Schema is registered and used by the server
   * and `fluxo run` to validate and coerce parameters. @default no parameters
   */
  parameters?: S;
  /** Routing labels every run gets unless the run (or `fluxo register --labels`) sets its own. @default [] */
  labels?: string[];
  /**
   * Names of the secrets the flow needs, as environment variables (`DB_PASSWORD`). The agent passes
   * exactly these to the flow's process from its host's own secrets, and redacts their values
   * from the run's logs. Read them with `process.env.DB_PASSWORD`. @default []
   */
  secrets?: string[];
  /** Flow-level retries after a Failed, Crashed or TimedOut attempt; the server schedules them. @default 0 */
  retries?: number;
  /** Whole seconds between a failed attempt and the next. @default 10 */
  retryDelaySeconds?: number;
  /** Whole seconds the run may take; the agent kills the process past it. @default null (no limit) */
  timeoutSeconds?: number | null;
  /**
   * Clocks: when the server's scheduler creates runs of this flow, each with its own parameters and
   * labels (at most 50). Cron clocks read local times in a zone; interval clocks count absolute
   * time from an anchor. Registering the flow registers its clocks; operators pause and resume
   * them (`fluxo schedules pause`). See docs/schedules.md. @default [] (runs only when asked)
   *
   * @example
   * schedules: [
   *   { cron: '0 3 * * *', timezone: 'America/Sao_Paulo', parameters: { orgao: 'smtr' }, labels: ['rj-smtr'] },
   *   { every: '15m', anchor: '2026-01-01T00:05:00-03:00' },
   * ]
   */
  schedules?: ClockOptions<ClockParametersOf<S>>[];
  /**
   * Clock times missed while the server was down or the schedule paused: 'skip' creates no run
   * for them; 'catch-up' creates runs for the most recent ones, at most `catchUpLimit` per clock,
   * oldest first. @default 'skip'
   */
  missedRuns?: MissedRuns;
  /** With missedRuns 'catch-up': the most missed times per clock that get a run, 1 to 1000. @default 10 */
  catchUpLimit?: number;
  /**
   * How many runs of this flow may hold an agent at once, across every agent (1 to 1000), and what
   * a due run does while they all do: 'queue' waits for a free slot, 'skip' ends the new run
   * CANCELLED with reason `concurrency-skip` ("skip if running"). The server enforces it when an
   * agent claims runs. See docs/operators.md. @default no limit
   *
   * @example concurrency: { limit: 1, whenFull: 'skip' }
   */
  concurrency?: FlowConcurrency;
}

/** A flow's concurrency limit (`FlowOptions.concurrency`). */
export interface FlowConcurrency {
  /** Runs of the flow holding an agent at once, 1 to 1000. */
  limit: number;
  /** What a due run does while the limit is full. @default 'queue' */
  whenFull?: 'queue' | 'skip';
}

/** What a clock's `parameters` hold: the flow's parameters as `fluxo run` takes them (defaults may be left out). */
export type ClockParametersOf<S> = S extends ParameterSchema ? InputOf<S> : Record<string, never>;

/** The parameters a flow function receives. */
export type ParametersOf<S> = S extends ParameterSchema ? OutputOf<S> : Record<string, never>;

/** An exported flow. `run` resolves to the flow's return value or rejects with a FlowFailure. */
export interface Flow<R = unknown> extends FlowHandle {
  run(parameters: unknown, host: RuntimeHost): Promise<Awaited<R>>;
}

const NO_PARAMETERS: Record<string, unknown> = { type: 'object', properties: {}, additionalProperties: false };

/**
 * Declares a flow. Export it from a module; `fluxo run` and `fluxo register` find every exported flow.
 *
 * @example
 * export const municipios = flow('municipios', {
 *   parameters: z.object({ url: z.url() }),
 *   retries: 1,
 * }, async ({ url }) => {
 *   const records = await extract(url);
 *   await save(buildTable(records));
 * });
 */
export function flow<R>(name: string, fn: (parameters: Record<string, never>) => R): Flow<R>;
export function flow<S extends ParameterSchema | undefined = undefined, R = unknown>(
  name: string,
  options: FlowOptions<S>,
  fn: (parameters: ParametersOf<S>) => R,
): Flow<R>;
export function flow<S extends ParameterSchema | undefined, R>(
  name: string,
  optionsOrFn: FlowOptions<S> | ((parameters: never) => R),
  maybeFn?: (parameters: never) => R,
): Flow<R> {
  assertName('flow', name);
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  const options: FlowOptions<S> = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
  const owner = `flow "${name}"`;
  if (typeof fn !== 'function') throw new TypeError(`${owner}: the last argument must be the flow's function`);
  if (typeof options !== 'object' || options === null) throw new TypeError(`${owner}: options must be an object`);
  if (options.description !== undefined && typeof options.description !== 'string') {
    throw new TypeError(`${owner}: description must be a string`);
  }

  const schema = options.parameters;
  const definition: FlowDefinition = Object.freeze({
    name,
    description: options.description ?? null,
    parameterSchema: parameterSchemaOf(owner, schema),
    labels: checkLabelList(owner, options.labels),
    secrets: checkSecrets(owner, options.secrets),
    retries: checkNumber(owner, 'retries', options.retries, { integer: true, min: 0, fallback: 0 }),
    retryDelaySeconds: checkNumber(owner, 'retryDelaySeconds', options.retryDelaySeconds, { integer: true, min: 0, fallback: 10 }),
    timeoutSeconds: checkTimeout(owner, options.timeoutSeconds, true),
    ...checkSchedules(owner, options),
    ...checkConcurrency(owner, options.concurrency),
  });
  // The keys a closed schema allows: the SDK refuses others exactly as the server and `fluxo run` do.
  const { properties, additionalProperties } = definition.parameterSchema;
  const allowed = additionalProperties === false ? new Set(Object.keys(properties ?? {})) : null;

  const parse = async (parameters: unknown): Promise<unknown> => {
    const input = parameters ?? {};
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw invalidParameters(`${owner}: parameters must be an object`);
    }
    const unknown = allowed ? Object.keys(input).filter((key) => !allowed.has(key)) : [];
    if (unknown.length > 0 && allowed?.size === 0) throw invalidParameters(`${owner} takes no parameters (got ${unknown.join(', ')})`);
    if (unknown.length > 0) throw invalidParameters(`invalid parameters for ${owner}: unknown parameter ${unknown.join(', ')}`);
    if (schema === undefined) return {};
    const result = await schema['~standard'].validate(input);
    if (result.issues) {
      throw invalidParameters(`invalid parameters for ${owner}: ${result.issues.map(describeIssue).join('; ')}`);
    }
    return result.value;
  };

  return Object.freeze({
    [FLOW_MARKER]: RUNTIME_PROTOCOL_VERSION,
    definition,
    async run(parameters: unknown, host: RuntimeHost): Promise<Awaited<R>> {
      if (typeof host?.taskState !== 'function' || typeof host.log !== 'function') {
        throw new TypeError(`${owner}: run() needs a host with taskState() and log()`);
      }
      const parsed = await parse(parameters);
      const context: RunContext = { host, taskCalls: new Map(), taskKey: null };
      try {
        return await runContext.run(context, async () => (fn as (parameters: unknown) => R)(parsed));
      } catch (error) {
        if (error instanceof FlowFailure) throw error;
        const reason = error instanceof TaskTimeoutError ? 'timeout' : 'exception';
        throw new FlowFailure(serializeFailure(error, reason), { cause: error });
      }
    },
  });
}

function invalidParameters(message: string): FlowFailure {
  return new FlowFailure({ type: 'InvalidParameters', message, reason: 'invalid-parameters' });
}

function parameterSchemaOf(owner: string, schema: unknown): Record<string, unknown> {
  if (schema === undefined) return structuredClone(NO_PARAMETERS);
  const standard = (schema as Partial<ParameterSchema> | null)?.['~standard'];
  if (typeof standard?.validate !== 'function') {
    throw new TypeError(`${owner}: parameters must be a zod 4 object schema (z.object({...}))`);
  }
  let json: Record<string, unknown> | undefined;
  try {
    // Standard JSON Schema first; zod's own method (same output) for versions before it.
    const legacy = (schema as { toJSONSchema?: (params: { io: 'input' }) => Record<string, unknown> }).toJSONSchema;
    json = standard.jsonSchema?.input({ target: 'draft-2020-12' }) ?? legacy?.call(schema, { io: 'input' });
  } catch (error) {
    throw new TypeError(`${owner}: parameters cannot be expressed as JSON Schema (${(error as Error).message})`, { cause: error });
  }
  if (!json) throw new TypeError(`${owner}: the parameters schema cannot export JSON Schema (zod/mini schemas cannot: use zod)`);
  if (json.type !== 'object') throw new TypeError(`${owner}: parameters must be an object schema (z.object({...}))`);
  // z.object() strips unknown keys and says nothing about them; refusing them instead catches a
  // misspelt `--param yaer=2011`. z.looseObject() (additionalProperties: {}) still accepts them.
  if (!('additionalProperties' in json) && !('unevaluatedProperties' in json)) json = { ...json, additionalProperties: false };
  // Plain JSON data: it is sent to the server and compared by content hash.
  return JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
}

function checkSecrets(owner: string, secrets: unknown): string[] {
  if (secrets === undefined) return [];
  if (!Array.isArray(secrets)) throw new TypeError(`${owner}: secrets must be an array of names`);
  for (const name of secrets as unknown[]) {
    // The server's rule, so a flow that loads here is never refused at registration for its secrets.
    const problem = typeof name === 'string' ? secretNameProblem(name) : 'must be a string';
    if (problem) throw new TypeError(`${owner}: secret name ${JSON.stringify(name)} ${problem}`);
  }
  return [...new Set(secrets as string[])].sort();
}


/** Checks `concurrency` at definition time; absent from the definition when not set (bundles stay as they were). */
function checkConcurrency(owner: string, concurrency: unknown): Pick<FlowDefinition, 'concurrency'> {
  if (concurrency === undefined) return {};
  if (typeof concurrency !== 'object' || concurrency === null || Array.isArray(concurrency)) {
    throw new TypeError(`${owner}: concurrency must be an object like { limit: 1, whenFull: 'queue' }`);
  }
  const { limit, whenFull = 'queue', ...rest } = concurrency as { limit?: unknown; whenFull?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new TypeError(`${owner}: concurrency has unknown option(s) ${unknown.join(', ')} (known: limit, whenFull)`);
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new TypeError(`${owner}: concurrency.limit must be an integer from 1 to 1000 (got ${String(limit)})`);
  }
  if (whenFull !== 'queue' && whenFull !== 'skip') throw new TypeError(`${owner}: concurrency.whenFull must be 'queue' or 'skip' (got ${String(whenFull)})`);
  return { concurrency: { limit, whenFull } };
}
