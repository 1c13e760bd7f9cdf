// The table of agent/PROTOCOL.md section 7, row by row.
import { describe, expect, it } from 'vitest';
import { finalStateOf } from '../../agent/final-state.js';
import type { ChildOutcome } from '../../agent/spawn-flow-run.js';

const outcome = (change: Partial<ChildOutcome>): ChildOutcome => ({
  pid: 123,
  exitCode: 0,
  signal: null,
  result: null,
  interruption: null,
  started: true,
  stderrTail: [],
  problem: null,
  outOfMemory: false,
  memoryLimitMb: null,
  durationMs: 10,
  ...change,
});

const failure = (reason: 'exception' | 'invalid-parameters' | 'load-error' | 'timeout') => ({
  ok: false as const,
  failure: { type: 'Error', message: 'went wrong', reason },
});

describe('final state of a run from how its child ended', () => {
  it.each([
    ['exit 0 after result ok', { exitCode: 0, result: { ok: true } }, 'SUCCESS', null],
    ['result not ok (exception), exit 1', { exitCode: 1, result: failure('exception') }, 'FAILED', 'exception'],
    ['result not ok (invalid parameters), exit 1', { exitCode: 1, result: failure('invalid-parameters') }, 'FAILED', 'invalid-parameters'],
    ['exit 3 with a load-error result', { exitCode: 3, result: failure('load-error') }, 'CRASHED', 'load-error'],
    ['exit 3 without a result', { exitCode: 3 }, 'CRASHED', 'load-error'],
    ['exit 4 (a timeout inside the child)', { exitCode: 4, result: failure('timeout') }, 'TIMED_OUT', 'timeout'],
    ['killed by the flow timeout', { exitCode: null, signal: 'SIGKILL', interruption: 'timeout' }, 'TIMED_OUT', 'timeout'],
    ['killed after a cancellation', { exitCode: null, signal: 'SIGTERM', interruption: 'cancelled' }, 'CANCELLED', 'cancelled'],
    ['ended by a cancellation although it exited 0', { exitCode: 0, result: { ok: true }, interruption: 'cancelled' }, 'CANCELLED', 'cancelled'],
    ['stopped because the agent stopped', { exitCode: null, signal: 'SIGTERM', interruption: 'agent-stopped' }, 'CRASHED', 'agent-stopped'],
    ['never started (no ready in time)', { exitCode: null, signal: 'SIGKILL', interruption: 'not-started', problem: 'no ready', started: false }, 'CRASHED', 'load-error'],
    ['exit 0 without a result', { exitCode: 0 }, 'FAILED', 'exit-code'],
    ['result ok but exit 2', { exitCode: 2, result: { ok: true } }, 'FAILED', 'exit-code'],
    ['exit 5 (protocol error)', { exitCode: 5 }, 'FAILED', 'exit-code'],
    ['killed by a signal nobody sent on purpose', { exitCode: null, signal: 'SIGSEGV' }, 'FAILED', 'signal'],
    ['aborted by V8 at its heap limit', { exitCode: null, signal: 'SIGABRT', outOfMemory: true, memoryLimitMb: 64 }, 'FAILED', 'memory'],
    ['exit 134 after V8 said the heap was exhausted', { exitCode: 134, outOfMemory: true }, 'FAILED', 'memory'],
  ] as const)('%s → %s (%s)', (_case, change, state, reason) => {
    const final = finalStateOf(outcome(change as Partial<ChildOutcome>));

    expect(final).toMatchObject({ state, reason, exitCode: change.exitCode, signal: 'signal' in change ? change.signal : null });
  });

  it("carries the flow's error as the message of a failure", () => {
    expect(finalStateOf(outcome({ exitCode: 1, result: failure('exception') })).message).toBe('Error: went wrong');
  });

  it('says which heap limit a flow that ran out of memory reached', () => {
    const final = finalStateOf(outcome({ exitCode: null, signal: 'SIGABRT', outOfMemory: true, memoryLimitMb: 64 }));

    expect(final.message).toBe("the flow's process ran out of memory: it reached the heap limit of 64 MiB (the agent's --child-memory-mb) and was killed by SIGABRT");
  });

  it('quotes the last stderr lines when the child died without saying why', () => {
    const final = finalStateOf(outcome({ exitCode: 134, stderrTail: ['FATAL ERROR: heap out of memory'] }));

    expect(final.message).toBe("the flow's process exited with code 134; last stderr:\nFATAL ERROR: heap out of memory");
  });
});
