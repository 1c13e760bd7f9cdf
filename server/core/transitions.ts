// The flow-run state machine (docs/states.md is its prose). Stores call these checks inside the
// same transaction as the write, so no path can skip them.
import { FluxoError } from '../../common/errors.js';
import { isFinalState, leasedStates as leasedStateList, retryableStates as retryableStateList } from '../../contract/states.js';
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
export const retryableStates: ReadonlySet<FlowRunStateType> = new Set(retryableStateList);

/** States in which an agent holds a lease on the run (contract/states.ts, widened for `includes`). */
export const leasedStates: readonly FlowRunStateType[] = leasedStateList;

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

/**
 * The states an agent may move a run from to `to`: the table above read backwards, for a store
 * that checks the transition inside its write statement (PostgreSQL's single-statement compare-and-set).
 */
export function agentSourceStates(to: FlowRunStateType): FlowRunStateType[] {
  return (Object.keys(agentTransitions) as FlowRunStateType[]).filter((from) => agentTransitions[from].includes(to));
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
  return isFinalState(state);
}

/** The parts of a run a state write is checked against. */
export interface LeasedRunState {
  id: string;
  state: FlowRunStateType;
  version: number;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
}

/**
 * Decides an agent's compare-and-set state write against the run as locked in the transaction, at
 * database time `now`: 'unchanged' for a repeat of a write that already landed (a retry after a
 * lost answer), 'apply' when the write may proceed. Refusals throw LEASE_LOST, ILLEGAL_TRANSITION or
 * VERSION_CONFLICT. Every store calls this, so the rule has one home.
 */
export function decideStateWrite(
  run: LeasedRunState,
  write: { leaseToken: string; expectedVersion: number; state: FlowRunStateType },
  now: number,
): 'unchanged' | 'apply' {
  if (run.leaseToken !== write.leaseToken) {
    throw new FluxoError('LEASE_LOST', `the lease on flow run ${run.id} is gone (the run was reclaimed or rescheduled); stop its process`);
  }
  if (run.leaseExpiresAt === null) {
    // The attempt already ended under this lease: repeating its final write is a no-op.
    if (run.state === write.state) return 'unchanged';
    throw new FluxoError('ILLEGAL_TRANSITION', `flow run ${run.id} already ended as ${run.state}`);
  }
  if (run.leaseExpiresAt <= now) {
    throw new FluxoError('LEASE_LOST', `the lease on flow run ${run.id} expired; stop its process`);
  }
  if (run.state === write.state && run.version === write.expectedVersion + 1) return 'unchanged';
  if (run.version !== write.expectedVersion) {
    throw new FluxoError('VERSION_CONFLICT', `flow run ${run.id} is at version ${run.version} (${run.state}), not ${write.expectedVersion}; read it again`);
  }
  assertAgentTransition(run.state, write.state);
  return 'apply';
}
