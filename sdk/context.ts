// The flow run (and task) the current code runs in. AsyncLocalStorage follows awaits, timers and
// Promise.all branches, so concurrent tasks report under their own keys.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RuntimeHost } from './runtime/protocol.js';

export interface RunContext {
  /** Where task states and logs go (IPC in a child, the terminal for `fluxo run`). */
  readonly host: RuntimeHost;
  /** Calls per task name in this flow run, for `name#n` keys. Shared by every task of the run. */
  readonly taskCalls: Map<string, number>;
  /** Key of the innermost running task, or null at flow level. */
  readonly taskKey: string | null;
}

export const runContext = new AsyncLocalStorage<RunContext>();

/** The current ISO-8601 time (child clock; informational). */
export function now(): string {
  return new Date().toISOString();
}
