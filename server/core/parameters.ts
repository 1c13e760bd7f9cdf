// Flow-run parameters are validated against the version's JSON Schema before a run exists, and
// coerced the way a CLI user expects (`--param year=2010` becomes 2010 for an integer).
//
// Schemas are written by any tenant's developers, and some cost exponential time with no regular
// expression at all (nested anyOf over shared $defs), so they are never evaluated on the server's
// event loop: a small pool of worker threads compiles and checks them (parameter-worker.ts), each
// job with a time and a memory limit. A job past its limit costs its worker (terminated and
// replaced), and its caller a coded refusal; other tenants' requests go on meanwhile. The pool is
// shared fairly: a tenant has at most one job running, tenants with waiting jobs take turns.
// The limit is the worker's own CPU time where Linux tells it (/proc/self/task/<tid>/stat), so a
// worker that waits for a CPU on a busy machine (it runs at low priority) is not mistaken for a
// costly schema; wall time past HARD_WALL_LIMIT_MS ends a job in any case.
//
// Most schemas need none of this: a schema made only of keywords that look at each value once
// (types, bounds, enums, properties, items; patterns on the linear-time engine; no references and
// no combinators) and small enough to compile at once is checked on the event loop, which saves
// the round trip to a worker (a third of the server's throughput). isLinearSchema decides.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ValidateFunction } from 'ajv';
import { FluxoError, type ErrorCode } from '../../common/errors.js';
import { checkParameters, compileParameterSchema } from './parameter-schema.js';
import type { ParameterAnswer, ParameterJob, WorkerReady } from './parameter-worker.js';

/** CPU time a compile or a check may use before its worker is terminated. */
export const PARAMETER_CHECK_TIMEOUT_MS = 2000;
/**
 * Wall time after which a job ends however little CPU its low-priority worker was given: long
 * enough that a trivial job starved on a busy machine still finishes, short enough that a costly
 * one on a busy machine is refused in seconds.
 */
export const HARD_WALL_LIMIT_MS = 10_000;
/** Heap a worker may use (a schema with millions of errors would otherwise take the server's memory). */
export const PARAMETER_CHECK_MEMORY_MB = 128;
/** Worker threads: two, so one tenant's slow job (one at a time per tenant) leaves a worker to the others. */
const WORKERS = 2;
/** Jobs a tenant may have waiting before it is refused with RATE_LIMITED. */
const MAX_WAITING_PER_TENANT = 1000;

// From TypeScript sources (tests) the worker is the compiled one: a worker cannot load .ts.
const workerUrl = import.meta.url.endsWith('.ts') ? new URL('../../dist/server/core/parameter-worker.js', import.meta.url) : new URL('./parameter-worker.js', import.meta.url);

interface Job {
  tenant: string;
  message: Omit<ParameterJob, 'id'>;
  /** What a job past its limits answers: BAD_USER_INPUT at registration, INVALID_PARAMETERS at run creation. */
  tooCostly: (limit: string) => FluxoError;
  resolve: (answer: ParameterAnswer) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The worker thread's Linux task id, to read its CPU time; null elsewhere. */
  tid: number | null;
  job: (Job & { id: number; timer: NodeJS.Timeout; startedAt: number; cpuAtStart: number | null }) | null;
}

/** CPU time (user + system) the thread `tid` of this process has used, in ms; null when unknown. */
function threadCpuMs(tid: number | null): number | null {
  if (tid === null) return null;
  try {
    // Fields after the command name's closing parenthesis: state is field 3, utime 14, stime 15
    // (clock ticks; Linux's USER_HZ is 100 on every architecture Node runs on).
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

class ParameterCheckPool {
  readonly #slots: Slot[] = [];
  readonly #waiting = new Map<string, Job[]>();
  /** Tenants with waiting jobs, in turn order. */
  readonly #turns: string[] = [];
  readonly #running = new Set<string>();
  #nextId = 1;

  run(job: Job): void {
    const queue = this.#waiting.get(job.tenant) ?? [];
    if (queue.length >= MAX_WAITING_PER_TENANT) {
      job.reject(new FluxoError('RATE_LIMITED', `too many parameter checks of tenant ${job.tenant} are waiting; retry shortly`));
      return;
    }
    queue.push(job);
    if (queue.length === 1) {
      this.#waiting.set(job.tenant, queue);
      this.#turns.push(job.tenant);
    }
    while (this.#slots.length < WORKERS) this.#slots.push(this.#spawn());
    this.#pump();
  }

  #spawn(): Slot {
    const worker = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: PARAMETER_CHECK_MEMORY_MB } });
    const slot: Slot = { worker, ready: false, tid: null, job: null };
    worker.on('message', (message: ParameterAnswer | WorkerReady) => {
      if ('ready' in message) {
        slot.ready = true;
        slot.tid = message.tid;
      } else if (slot.job && slot.job.id === message.id) {
        const { job } = slot;
        this.#finish(slot);
        job.resolve(message);
      }
      this.#pump();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const limit = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `needed more than ${PARAMETER_CHECK_MEMORY_MB} MiB` : null;
      this.#replace(slot, (job) => (limit ? job.tooCostly(limit) : new FluxoError('INTERNAL_SERVER_ERROR', 'the parameter checker failed', { cause: error })));
    });
    worker.on('exit', () => this.#replace(slot, () => new FluxoError('INTERNAL_SERVER_ERROR', 'the parameter checker exited')));
    // Refs follow the pool's work (#pump); set after the listeners, as a 'message' listener refs the worker.
    worker.unref();
    return slot;
  }

  /** Frees a slot's job: its tenant may run the next one. */
  #finish(slot: Slot): void {
    if (!slot.job) return;
    clearTimeout(slot.job.timer);
    this.#running.delete(slot.job.tenant);
    slot.job = null;
  }

  /**
   * Terminates a slot's worker, refuses its job with `refusal`, and starts a fresh worker in its
   * place. A worker that failed before it was ready (it cannot load) is not restarted in a loop:
   * the slot is dropped, and with no worker left every waiting caller is refused; the next job
   * tries again.
   */
  #replace(slot: Slot, refusal: (job: Job) => Error): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    const { job } = slot;
    this.#finish(slot);
    if (slot.ready) this.#slots[index] = this.#spawn();
    else this.#slots.splice(index, 1);
    void slot.worker.terminate();
    if (job) job.reject(refusal(job));
    if (this.#slots.length === 0) {
      const failure = new FluxoError('INTERNAL_SERVER_ERROR', 'the parameter checker could not start');
      for (const queue of this.#waiting.values()) for (const waiting of queue) waiting.reject(failure);
      this.#waiting.clear();
      this.#turns.length = 0;
    }
    this.#pump();
  }

  #pump(): void {
    this.#dispatch();
    // Callers waiting keep the process up for their answers; an idle pool keeps nothing up.
    const busy = this.#running.size > 0 || this.#waiting.size > 0;
    for (const slot of this.#slots) {
      if (busy) slot.worker.ref();
      else slot.worker.unref();
    }
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (!slot.ready || slot.job) continue;
      const turn = this.#turns.findIndex((tenant) => !this.#running.has(tenant));
      if (turn < 0) return;
      const tenant = this.#turns.splice(turn, 1)[0]!;
      const queue = this.#waiting.get(tenant)!;
      const job = queue.shift()!;
      if (queue.length > 0) this.#turns.push(tenant);
      else this.#waiting.delete(tenant);
      const id = this.#nextId++;
      const timer = setTimeout(() => this.#checkLimit(slot, id), PARAMETER_CHECK_TIMEOUT_MS);
      slot.job = { ...job, id, timer, startedAt: Date.now(), cpuAtStart: threadCpuMs(slot.tid) };
      this.#running.add(tenant);
      slot.worker.postMessage({ ...job.message, id } satisfies ParameterJob);
    }
  }

  /** Ends job `id` when its worker used up its CPU time (or the hard wall limit passed); else looks again later. */
  #checkLimit(slot: Slot, id: number): void {
    const job = slot.job;
    if (!job || job.id !== id) return;
    const cpuNow = threadCpuMs(slot.tid);
    const used = cpuNow === null || job.cpuAtStart === null ? Date.now() - job.startedAt : cpuNow - job.cpuAtStart;
    if (used >= PARAMETER_CHECK_TIMEOUT_MS || Date.now() - job.startedAt >= HARD_WALL_LIMIT_MS) {
      this.#replace(slot, (j) => j.tooCostly(`took longer than ${PARAMETER_CHECK_TIMEOUT_MS} ms`));
      return;
    }
    job.timer = setTimeout(() => this.#checkLimit(slot, id), Math.max(50, PARAMETER_CHECK_TIMEOUT_MS - used));
  }
}

const pool = new ParameterCheckPool();

/** Largest schema (JSON characters) checked on the event loop; larger ones go to the pool. */
const MAX_INLINE_SCHEMA_CHARS = 16 * 1024;
/** Deepest nesting of subschemas checked on the event loop. */
const MAX_INLINE_DEPTH = 8;
/** Keywords that inspect a value once, never a subschema more than once per value. */
const LINEAR_KEYWORDS = new Set([
  '$schema', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'format',
  'type', 'enum', 'const', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'maxProperties', 'minProperties', 'required',
  'properties', 'additionalProperties', 'items', 'prefixItems',
]);

/**
 * Whether `schema` is checked in time linear in the parameters' size: only {@link LINEAR_KEYWORDS}
 * (no `$ref`, `$id`, combinators, `uniqueItems`, `patternProperties`...), at most
 * {@link MAX_INLINE_DEPTH} deep. Such a schema is safe to compile and run on the event loop.
 */
export function isLinearSchema(schema: unknown, depth = 0): boolean {
  if (typeof schema === 'boolean') return true;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || depth > MAX_INLINE_DEPTH) return false;
  for (const [keyword, value] of Object.entries(schema)) {
    if (!LINEAR_KEYWORDS.has(keyword)) return false;
    if (keyword === 'properties') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      if (!Object.values(value).every((sub) => isLinearSchema(sub, depth + 1))) return false;
    } else if (keyword === 'additionalProperties' || keyword === 'items') {
      if (!isLinearSchema(value, depth + 1)) return false;
    } else if (keyword === 'prefixItems') {
      if (!Array.isArray(value) || !value.every((sub) => isLinearSchema(sub, depth + 1))) return false;
    }
  }
  return true;
}

/** Validators of linear schemas compiled on the event loop, by tenant and schema; least recently used dropped first. */
const MAX_INLINE_CACHED = 500;
const inlineValidators = new Map<string, ValidateFunction>();

/** The cache key: the tenant and the schema, so nothing compiled for one tenant serves another. */
function keyOf(tenant: string, schemaJson: string): string {
  return createHash('sha256').update(tenant).update('\0').update(schemaJson).digest('hex');
}

/** The in-process validator of a linear schema, or null when `schema` must go to the pool. */
function inlineValidator(key: string, schema: Record<string, unknown>, schemaJson: string): ValidateFunction | null {
  let validate = inlineValidators.get(key);
  if (validate) {
    inlineValidators.delete(key);
  } else {
    if (schemaJson.length > MAX_INLINE_SCHEMA_CHARS || !isLinearSchema(schema)) return null;
    validate = compileParameterSchema(schema);
    if (inlineValidators.size >= MAX_INLINE_CACHED) inlineValidators.delete(inlineValidators.keys().next().value!);
  }
  inlineValidators.set(key, validate);
  return validate;
}

function submit(key: string, tenant: string, schema: Record<string, unknown>, parameters: { value: unknown } | null, tooCostly: Job['tooCostly']): Promise<ParameterAnswer> {
  const message = parameters ? { key, schema, parameters: parameters.value } : { key, schema };
  return new Promise((resolve, reject) => pool.run({ tenant, message, tooCostly, resolve, reject }));
}

function refusal(answer: Extract<ParameterAnswer, { ok: false }>): FluxoError {
  return new FluxoError(answer.code as ErrorCode, answer.message, answer.details === undefined ? {} : { details: answer.details });
}

/** Resolves when `schema` is a usable parameter schema of `tenant`'s; BAD_USER_INPUT otherwise. */
export async function checkParameterSchema(tenant: string, schema: Record<string, unknown>): Promise<void> {
  const schemaJson = JSON.stringify(schema);
  const key = keyOf(tenant, schemaJson);
  if (inlineValidator(key, schema, schemaJson)) return;
  const answer = await submit(key, tenant, schema, null, (limit) => new FluxoError('BAD_USER_INPUT', `parameterSchema is too costly to compile (${limit}); simplify it`));
  if (!answer.ok) throw refusal(answer);
}

/** Returns validated, coerced parameters with defaults, or throws INVALID_PARAMETERS listing each violation. */
export async function validateParameters(tenant: string, schema: Record<string, unknown>, parameters: unknown): Promise<Record<string, unknown>> {
  const schemaJson = JSON.stringify(schema);
  const key = keyOf(tenant, schemaJson);
  const inline = inlineValidator(key, schema, schemaJson);
  // Coercion and defaults change the value in place: the caller's copy stays as it was.
  if (inline) return checkParameters(inline, structuredClone(parameters ?? {}));
  const answer = await submit(key, tenant, schema, { value: parameters ?? {} }, (limit) =>
    new FluxoError('INVALID_PARAMETERS', `parameters could not be checked: the flow's parameterSchema is too costly to evaluate (${limit}); simplify the schema and register a new version`),
  );
  if (!answer.ok) throw refusal(answer);
  return answer.value ?? {};
}
