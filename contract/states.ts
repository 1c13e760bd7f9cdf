// The closed lists of flow-run and task-run states, defined once for every part (server, stores,
// agent, CLI, UI). The union itself is generated from schema/fluxo.graphql (`FlowRunStateType`);
// this module names the groups the logic branches on, and the compile-time checks below fail when
// the schema gains a state that is not placed in them. Imports nothing but generated types, so the
// browser bundle and the SDK may use it too.
import type { FlowRunStateType } from '../schema/generated/graphql.js';

export type { FlowRunStateType };

/** Every flow-run state, in lifecycle order (the order docs/states.md and the UI's filters use). */
export const runStates = [
  'SCHEDULED',
  'SUBMITTED',
  'RUNNING',
  'RETRYING',
  'SUCCESS',
  'FAILED',
  'CANCELLING',
  'CANCELLED',
  'TIMED_OUT',
  'CRASHED',
] as const satisfies readonly FlowRunStateType[];

/**
 * States that end an attempt: the child is gone and no lease is held. FAILED, TIMED_OUT and CRASHED
 * may still be followed by another attempt when flow-level retries remain (`retryableStates`).
 */
export const finalStates = ['SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED'] as const satisfies readonly FlowRunStateType[];
export type FinalState = (typeof finalStates)[number];

/** States in which an agent holds a lease on the run (and the run holds a concurrency slot). */
export const leasedStates = ['SUBMITTED', 'RUNNING', 'CANCELLING'] as const satisfies readonly FlowRunStateType[];
export type LeasedState = (typeof leasedStates)[number];

/** States of a flow run that is not final: waiting to be claimed, or leased. */
export const activeStates = ['SCHEDULED', ...leasedStates] as const satisfies readonly FlowRunStateType[];
export type ActiveState = (typeof activeStates)[number];

/** Final states after which flow-level retries may schedule another attempt. */
export const retryableStates = ['FAILED', 'CRASHED', 'TIMED_OUT'] as const satisfies readonly FinalState[];

/** Final states `restartFlowRun` accepts: the ones that did not succeed. */
export const restartableStates = ['FAILED', 'CRASHED', 'TIMED_OUT', 'CANCELLED'] as const satisfies readonly FinalState[];

/**
 * States a task run reports (sdk/runtime/protocol.ts `task-state`, setTaskRunStates): task runs
 * have no lease, no cancellation of their own and no scheduling, and RETRYING is theirs alone.
 */
export const taskRunStates = ['RUNNING', 'RETRYING', 'SUCCESS', 'FAILED', 'TIMED_OUT'] as const satisfies readonly FlowRunStateType[];
export type TaskRunState = (typeof taskRunStates)[number];

/** Task-run states that end the task run's attempt. */
export const finalTaskRunStates = ['SUCCESS', 'FAILED', 'TIMED_OUT'] as const satisfies readonly TaskRunState[];

// Every state of the schema is in runStates, and every run state is either final or active (or
// RETRYING, the task-only one): a new schema state fails to compile until it is placed.
type Unlisted = Exclude<FlowRunStateType, (typeof runStates)[number]>;
type Unplaced = Exclude<FlowRunStateType, FinalState | ActiveState | 'RETRYING'>;
const everyStateListed: [Unlisted | Unplaced] extends [never] ? true : Unlisted | Unplaced = true;
void everyStateListed;

const finals: ReadonlySet<string> = new Set(finalStates);
const leased: ReadonlySet<string> = new Set(leasedStates);
const tasks: ReadonlySet<string> = new Set(taskRunStates);
const runs: ReadonlySet<string> = new Set(runStates);

/** Whether `state` is a flow-run state of the schema. */
export function isRunState(state: string): state is FlowRunStateType {
  return runs.has(state);
}

/**
 * Whether `state` ends an attempt (see {@link finalStates}).
 *
 * @example isFinalState('CANCELLING') // false: the agent is still stopping the child
 */
export function isFinalState(state: string): state is FinalState {
  return finals.has(state);
}

/** Whether an agent holds a lease on a run in `state`. */
export function isLeasedState(state: string): state is LeasedState {
  return leased.has(state);
}

const finalTasks: ReadonlySet<string> = new Set(finalTaskRunStates);

/** Whether a task run in `state` has ended its attempt. */
export function isFinalTaskRunState(state: string): boolean {
  return finalTasks.has(state);
}

/** Whether `state` is one a task run may report. */
export function isTaskRunState(state: string): state is TaskRunState {
  return tasks.has(state);
}

/**
 * A SQL list literal of states for `state IN …`, built from the lists above so the stores' SQL
 * cannot drift from them. The values are the schema's own identifiers (no quoting hazards).
 *
 * @example `WHERE state IN ${sqlStateList(leasedStates)}` // WHERE state IN ('SUBMITTED', 'RUNNING', 'CANCELLING')
 */
export function sqlStateList(states: readonly FlowRunStateType[]): string {
  for (const state of states) if (!runs.has(state)) throw new TypeError(`not a flow-run state: ${JSON.stringify(state)}`);
  return `(${states.map((s) => `'${s}'`).join(', ')})`;
}
