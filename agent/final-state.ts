// How a child's end becomes the run's final state: the table of agent/PROTOCOL.md section 7,
// in one pure function so it can be read and tested next to the table.
import type { StateReason } from '../contract/state-reasons.js';
import type { FlowRunStateType } from '../schema/generated/graphql.js';
import { CHILD_EXIT } from '../sdk/runtime/protocol.js';
import type { ChildOutcome } from './spawn-flow-run.js';

/** What the agent reports with `setFlowRunState` when a run ends. */
export interface FinalState {
  state: FlowRunStateType;
  /** FlowRun.stateReason: one of the contract's closed list (contract/state-reasons.ts, docs/states.md). */
  reason: StateReason | null;
  message: string | null;
  exitCode: number | null;
  signal: string | null;
}

/**
 * Maps a child's outcome to the final state.
 *
 * | child                                       | state     | reason                          |
 * |---------------------------------------------|-----------|---------------------------------|
 * | killed after a cancellation                 | CANCELLED | cancelled                       |
 * | killed by the flow timeout, or exit 4       | TIMED_OUT | timeout                         |
 * | stopped because the agent stopped           | CRASHED   | agent-stopped                   |
 * | runtime never started the flow (no `ready`) | CRASHED   | load-error                      |
 * | exit 0 after `result ok`                    | SUCCESS   | —                               |
 * | exit 3 (`load-error`)                       | CRASHED   | load-error                      |
 * | `result` not ok, exit 1                     | FAILED    | the failure's reason            |
 * | V8 reached the heap limit (SIGABRT)         | FAILED    | memory                          |
 * | any other exit code or signal               | FAILED    | exit-code / signal              |
 */
export function finalStateOf(outcome: ChildOutcome): FinalState {
  const { exitCode, signal, result } = outcome;
  const ended = { exitCode, signal };
  const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;

  switch (outcome.interruption) {
    case 'cancelled':
      return { state: 'CANCELLED', reason: 'cancelled', message: `cancelled; the flow's process ${how}`, ...ended };
    case 'timeout':
      return { state: 'TIMED_OUT', reason: 'timeout', message: 'the flow exceeded its timeout; its process group was killed', ...ended };
    case 'agent-stopped':
      return { state: 'CRASHED', reason: 'agent-stopped', message: `the agent stopped before the flow finished; its process ${how}`, ...ended };
    case 'not-started':
      // The runtime never got the flow: a protocol mismatch, or no `ready` in time.
      if (outcome.problem) return { state: 'CRASHED', reason: 'load-error', message: withTail(`the flow was not started: ${outcome.problem}`, outcome), ...ended };
      break;
    case 'lease-lost':
    case null:
      break;
  }

  const failure = result && !result.ok ? result.failure : null;
  if (exitCode === CHILD_EXIT.success && result?.ok) return { state: 'SUCCESS', reason: null, message: null, ...ended };
  if (exitCode === CHILD_EXIT.loadError || failure?.reason === 'load-error') {
    return { state: 'CRASHED', reason: 'load-error', message: failure ? describe(failure) : withTail('the flow could not be loaded', outcome), ...ended };
  }
  if (exitCode === CHILD_EXIT.timedOut || failure?.reason === 'timeout') {
    return { state: 'TIMED_OUT', reason: 'timeout', message: failure ? describe(failure) : 'the flow exceeded its timeout', ...ended };
  }
  if (failure && exitCode === CHILD_EXIT.flowFailed) return { state: 'FAILED', reason: failure.reason, message: describe(failure), ...ended };
  if (outcome.outOfMemory) {
    const limit = outcome.memoryLimitMb === null ? "Node's default heap limit" : `the heap limit of ${outcome.memoryLimitMb} MiB (the agent's --child-memory-mb)`;
    return { state: 'FAILED', reason: 'memory', message: `the flow's process ran out of memory: it reached ${limit} and was ${signal ? `killed by ${signal}` : `ended with code ${exitCode}`}`, ...ended };
  }
  if (signal) return { state: 'FAILED', reason: 'signal', message: withTail(`the flow's process was killed by ${signal}`, outcome), ...ended };
  const detail = outcome.problem ?? (exitCode === CHILD_EXIT.success ? 'it exited 0 without reporting a result' : null);
  return {
    state: 'FAILED',
    reason: 'exit-code',
    message: withTail(`the flow's process exited with code ${exitCode ?? 'unknown'}${detail ? ` (${detail})` : ''}`, outcome),
    ...ended,
  };
}

function describe(failure: { type: string; message: string }): string {
  return `${failure.type}: ${failure.message}`;
}

function withTail(message: string, outcome: ChildOutcome): string {
  return outcome.stderrTail.length > 0 ? `${message}; last stderr:\n${outcome.stderrTail.join('\n')}` : message;
}
