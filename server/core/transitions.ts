// The flow-run state machine (docs/states.md is its prose). Stores call these checks inside the
// same transaction as the write, so no path can skip them.
import { FluxoError } from '../../common/errors.js';
import type { FlowRunStateType } from '../store/records.js';

/** Transitions an agent may report with setFlowRunState, by current state. */
const agentTransitions: Record<FlowRunStateType, readonly FlowRunStateType[]> = {
  SCHEDULED: [],
  SUBMITTED: ['RUNNING', 'FAILED', 'CRASHED'],
  RUNNING: ['SUCCESS', 'FAILED', 'TIMED_OUT', 'CRASHED'],
  // The child may finish on its own while a cancellation is in flight: the agent reports the truth.
  CANCELLING: ['CANCELLED', 'SUCCESS', 'FAILED', 'TIMED_OUT', 'CRASHED'],
  RETRYING: [],
  SUCCESS: [],
  FAILED: [],
  CANCELLED: [],
  TIMED_OUT: [],
  CRASHED: [],
};

/** States after which flow-level retries may schedule another attempt. */
export const retryableStates: ReadonlySet<FlowRunStateType> = new Set(['FAILED', 'CRASHED', 'TIMED_OUT']);

/** States in which an agent holds a lease on the run. */
export const leasedStates: readonly FlowRunStateType[] = ['SUBMITTED', 'RUNNING', 'CANCELLING'];

/** Throws ILLEGAL_TRANSITION unless an agent may move a run from `from` to `to`. */
export function assertAgentTransition(from: FlowRunStateType, to: FlowRunStateType): void {
  if (!agentTransitions[from].includes(to)) {
    const allowed = agentTransitions[from];
    throw new FluxoError(
      'ILLEGAL_TRANSITION',
      `a run in ${from} cannot move to ${to}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it is final or not held by an agent)'}`,
    );
  }
}

/** What a user's cancel does to a run in `state`: the new state, or null when it is already cancelling. */
export function cancelTarget(state: FlowRunStateType): FlowRunStateType | null {
  switch (state) {
    case 'SCHEDULED':
      return 'CANCELLED';
    case 'SUBMITTED':
    case 'RUNNING':
      return 'CANCELLING';
    case 'CANCELLING':
      return null;
    default:
      throw new FluxoError('ILLEGAL_TRANSITION', `the run is already ${state}; only scheduled, submitted or running runs can be cancelled`);
  }
}

/** Whether a run that just ended in `state` gets another attempt. */
export function shouldRetry(state: FlowRunStateType, attempt: number, retries: number): boolean {
  return retryableStates.has(state) && attempt <= retries;
}

/** Whether a state ends an attempt (the child is gone). */
export function endsAttempt(state: FlowRunStateType): boolean {
  return state === 'SUCCESS' || state === 'FAILED' || state === 'CANCELLED' || state === 'TIMED_OUT' || state === 'CRASHED';
}
