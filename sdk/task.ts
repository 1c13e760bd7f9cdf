// task(): a function whose calls inside a flow run become task runs with states, retries and a
// timeout. Outside a flow run it is the plain function.
import { setTimeout as sleep } from 'node:timers/promises';
import { now, runContext, type RunContext } from './context.js';
import { assertName, checkNumber, checkTimeout } from './options.js';
import { inputsHashOf, parseResultJson, resultJsonOf } from './result-json.js';
import { TaskTimeoutError } from './runtime/failure.js';
import type { TaskRunState } from './runtime/protocol.js';

/** How a task behaves when it fails or hangs. */
export interface TaskOptions {
  /** Attempts after the first failure. @default 0 */
  retries?: number;
  /** Seconds between a failed attempt and the next (fractions allowed). @default 0 */
  retryDelaySeconds?: number;
  /**
   * Seconds one attempt may take; past it the attempt fails with TaskTimeoutError (and is retried
   * while retries remain). The abandoned attempt is not interrupted: JavaScript cannot stop a
   * promise, so work that must stop belongs in a flow with `timeoutSeconds`, which the agent
   * enforces by killing the process. @default null (no limit)
   */
  timeoutSeconds?: number | null;
}

/** A task: call it like the function it wraps; it always returns a promise. */
export type Task<A extends unknown[], R> = (...args: A) => Promise<Awaited<R>>;

/**
 * Declares a task. Each call inside a running flow is one task run, keyed `name#n` (the n-th call
 * of that name in the flow run): it reports RUNNING, then SUCCESS; on a throw RETRYING and a new
 * RUNNING attempt after `retryDelaySeconds` while retries remain, else FAILED (TIMED_OUT for a
 * timeout) and the error propagates to the caller.
 *
 * Under an agent, a SUCCESS carries the return value when it is JSON (sdk/result-json.ts; at most
 * 64 MiB) and the agent stores it. In a restarted run, a call with the same key and the same
 * arguments (sha256 of their canonical JSON) as a task that succeeded before returns the stored
 * value instead of running, reported as SUCCESS "restored from result storage".
 *
 * @example
 * const extract = task('extract', { retries: 2, retryDelaySeconds: 5 }, async (url: string) => {
 *   const response = await fetch(url);
 *   return response.json();
 * });
 */
export function task<A extends unknown[], R>(name: string, fn: (...args: A) => R): Task<A, R>;
export function task<A extends unknown[], R>(name: string, options: TaskOptions, fn: (...args: A) => R): Task<A, R>;
export function task<A extends unknown[], R>(
  name: string,
  optionsOrFn: TaskOptions | ((...args: A) => R),
  maybeFn?: (...args: A) => R,
): Task<A, R> {
  assertName('task', name);
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  const options = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
  if (typeof fn !== 'function') throw new TypeError(`task "${name}": the last argument must be the task's function`);
  if (typeof options !== 'object' || options === null) throw new TypeError(`task "${name}": options must be an object`);
  const owner = `task "${name}"`;
  const retries = checkNumber(owner, 'retries', options.retries, { integer: true, min: 0, fallback: 0 });
  const retryDelayMs = 1000 * checkNumber(owner, 'retryDelaySeconds', options.retryDelaySeconds, { integer: false, min: 0, fallback: 0 });
  const timeoutSeconds = checkTimeout(owner, options.timeoutSeconds, false);

  const attemptOnce = (thisArg: unknown, args: A): Promise<Awaited<R>> => {
    const attempt = (async (): Promise<Awaited<R>> => await fn.apply(thisArg, args))();
    return timeoutSeconds === null ? attempt : withTimeout(attempt, timeoutSeconds, name);
  };

  return async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    const context = runContext.getStore();
    if (!context) return await fn.apply(this, args);

    const count = (context.taskCalls.get(name) ?? 0) + 1;
    context.taskCalls.set(name, count);
    const key = `${name}#${count}`;
    const scope: RunContext = { host: context.host, taskCalls: context.taskCalls, taskKey: key };
    const { host } = context;
    const inputsHash = host.storesResults || host.storedResult ? inputsHashOf(args) : null;
    const hashed = inputsHash === null ? {} : { inputsHash };
    const report = (attempt: number, state: TaskRunState, message: string | null = null, extra: object = {}): void =>
      host.taskState({ key, taskName: name, mapIndex: null, attempt, state, message, timestamp: now(), ...hashed, ...extra });

    const stored = inputsHash === null ? null : host.storedResult?.(key, inputsHash) ?? null;
    if (stored !== null) {
      const json = await stored;
      if (json !== null) {
        // Parsed before reporting: a result that does not parse is no result, and the task runs.
        let value: unknown;
        let parsed = true;
        try {
          value = parseResultJson(json);
        } catch {
          parsed = false;
        }
        if (parsed) {
          report(1, 'SUCCESS', 'restored from result storage', { restored: true });
          return value as Awaited<R>;
        }
      }
    }

    for (let attempt = 1; ; attempt += 1) {
      report(attempt, 'RUNNING');
      try {
        // A fresh scope per attempt: what counts per attempt (fluxo/data's default write keys) starts
        // again, so a retried attempt names its writes as the failed one did and replaces them.
        const value = await runContext.run({ ...scope }, () => attemptOnce(this, args));
        const json = host.storesResults ? resultJsonOf(value) : null;
        report(attempt, 'SUCCESS', null, json === null ? {} : { result: { json } });
        return value;
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (attempt <= retries) {
          report(attempt, 'RETRYING', message);
          if (retryDelayMs > 0) await sleep(retryDelayMs);
          continue;
        }
        report(attempt, error instanceof TaskTimeoutError ? 'TIMED_OUT' : 'FAILED', message);
        throw error;
      }
    }
  };
}

function withTimeout<T>(promise: Promise<T>, seconds: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TaskTimeoutError(`task "${name}" timed out after ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
