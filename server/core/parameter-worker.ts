// The worker thread that compiles parameter schemas and checks parameters (parameters.ts starts it
// and kills it when a job runs past its time or memory limit). It keeps compiled validators by key;
// the key covers the tenant and the schema, so nothing compiled for one tenant serves another.
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { ValidateFunction } from 'ajv';
import { coerceError, FluxoError, type ErrorCode } from '../../common/errors.js';
import { checkParameters, compileParameterSchema } from './parameter-schema.js';

/** One job: compile a schema (registration), or compile it and check parameters (run creation). */
export interface ParameterJob {
  id: number;
  /** sha256 of the tenant and the schema's JSON: the cache key. */
  key: string;
  schema: Record<string, unknown>;
  /** Absent for a compile-only job. */
  parameters?: unknown;
}

/** The worker's first message: it is ready, and its Linux task id (for its CPU time), or null. */
export interface WorkerReady {
  ready: true;
  tid: number | null;
}

/** The answer to a job: the checked parameters, or a FluxoError as data. */
export type ParameterAnswer =
  | { id: number; ok: true; value?: Record<string, unknown> }
  | { id: number; ok: false; code: ErrorCode; message: string; details?: unknown };

/** Compiled validators kept per worker, least recently used dropped first. */
const MAX_CACHED = 500;
const cache = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Record<string, unknown>): ValidateFunction {
  let validate = cache.get(key);
  if (validate) {
    cache.delete(key);
  } else {
    validate = compileParameterSchema(schema);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, validate);
  return validate;
}

function run(job: ParameterJob): ParameterAnswer {
  try {
    const validate = validatorFor(job.key, job.schema);
    if (!('parameters' in job)) return { id: job.id, ok: true };
    // job.parameters is this thread's own copy (messages are cloned): coercion may change it in place.
    return { id: job.id, ok: true, value: checkParameters(validate, job.parameters) };
  } catch (thrown) {
    if (thrown instanceof FluxoError) return { id: job.id, ok: false, code: thrown.code, message: thrown.message, details: thrown.details };
    // A schema that recurses on the same value overflows the stack: the schema's fault, not the server's.
    const error = coerceError(thrown);
    const code = 'parameters' in job ? 'INVALID_PARAMETERS' : 'BAD_USER_INPUT';
    return { id: job.id, ok: false, code, message: `parameterSchema cannot be evaluated: ${error.message}` };
  }
}

/**
 * Lowers this thread's CPU priority (Linux: a thread is a task with its own nice value, named by
 * /proc/thread-self), so a schema that burns its whole time budget yields the CPU to the server's
 * event loop instead of competing with it. Below normal (nice 10, a ninth of the event loop's
 * share), not lowest: at nice 19 a busy machine starved even a trivial compile past the pool's
 * wall-time cap. Returns the task id (the pool reads the thread's CPU
 * time by it), or null without procfs. Best effort: elsewhere the wall-time limit alone bounds a job.
 */
function yieldCpu(): number | null {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null; // not Linux, or no procfs
  }
  if (!Number.isInteger(tid) || tid <= 0) return null;
  try {
    setPriority(tid, constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // not permitted: the CPU-time limit still holds
  }
  return tid;
}

if (parentPort) {
  const port = parentPort;
  const tid = yieldCpu();
  port.on('message', (job: ParameterJob) => port.postMessage(run(job)));
  port.postMessage({ ready: true, tid } satisfies WorkerReady);
}
