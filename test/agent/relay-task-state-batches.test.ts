// Task-state batches carry a batch id kept across their retries, so the server records a batch
// whose answer was lost once (the real server's side: test/server/idempotent-agent-writes.test.ts).
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../client/graphql-client.js';
import { RunRelay } from '../../agent/relay.js';
import type { SetTaskRunStatesInput } from '../../schema/generated/graphql.js';
import type { TaskStateEvent } from '../../sdk/runtime/protocol.js';
import { waitFor } from '../support/harness.js';

const state = (key: string, s: TaskStateEvent['state']): TaskStateEvent => ({ key, taskName: key, mapIndex: null, attempt: 1, state: s, message: null, timestamp: new Date().toISOString() });

describe('task-state batch ids', () => {
  it('sends a batch retried after a transport error with the same batch id, and the next batch with a new one', async () => {
    const calls: SetTaskRunStatesInput[] = [];
    let failures = 1;
    const relay = new RunRelay({
      api: {
        async setTaskRunStates(input: SetTaskRunStatesInput) {
          calls.push(input);
          if (failures-- > 0) throw new TransportError('socket hang up (the answer was lost)');
          return input.states.length;
        },
        async writeLogs() {
          return 0;
        },
      },
      flowRunId: 'run-1',
      leaseToken: 'lease-1',
      flushIntervalMs: 10,
    });
    relay.open();
    relay.taskState(state('a#1', 'RUNNING'));
    await relay.flush();
    relay.taskState(state('a#1', 'SUCCESS'));
    await relay.close();
    await waitFor(() => calls.length === 3, { what: 'three calls' });
    expect(calls.map((c) => c.states.map((s) => s.state))).toEqual([['RUNNING'], ['RUNNING'], ['SUCCESS']]);
    expect(calls[0]!.batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[1]!.batchId).toBe(calls[0]!.batchId);
    expect(calls[2]!.batchId).not.toBe(calls[0]!.batchId);
  });
});
