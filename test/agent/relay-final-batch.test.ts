// The final batch of a run (issue 14): what is left when the child ends rides with the final state
// when it is one batch held in memory, and leaves the usual way otherwise. The API here records
// calls, so what was sent on its own is observable; the real server path is in
// test/e2e/merged-run-writes.test.ts.
import { describe, expect, it } from 'vitest';
import { RunRelay, type RunRelayOptions } from '../../agent/relay.js';
import { SpoolBudget } from '../../agent/spool.js';
import type { SetTaskRunStatesInput, WriteLogsInput } from '../../schema/generated/graphql.js';
import type { LogEvent, TaskStateEvent } from '../../sdk/runtime/protocol.js';
import { tempDir } from '../support/harness.js';

function recordingApi() {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async writeLogs(input: WriteLogsInput) {
        calls.push(`writeLogs ${input.lines.map((l) => l.message).join(',')}`);
        return input.lines.length;
      },
      async setTaskRunStates(input: SetTaskRunStatesInput) {
        calls.push(`setTaskRunStates ${input.states.map((s) => `${s.key}:${s.state}`).join(',')}`);
        return input.states.length;
      },
    },
  };
}

const line = (message: string): LogEvent => ({ level: 'INFO', stream: 'stdout', message, taskRunKey: null, timestamp: new Date().toISOString() });
const state = (key: string, s: TaskStateEvent['state']): TaskStateEvent => ({ key, taskName: key, mapIndex: null, attempt: 1, state: s, message: null, timestamp: new Date().toISOString() });

function relayWith(api: RunRelayOptions['api'], options: Partial<RunRelayOptions> = {}) {
  return new RunRelay({ api, flowRunId: 'run-1', leaseToken: 'lease-1', flushIntervalMs: 60_000, ...options });
}

describe('the final batch', () => {
  it('takes what is left as one batch, in order, and sends none of it on its own', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api);
    relay.open();
    relay.taskState(state('a#1', 'RUNNING'));
    relay.log(line('one'));
    relay.taskState(state('a#1', 'SUCCESS'));
    relay.log(line('two'));
    const batch = await relay.takeFinalBatch();
    expect(batch).toMatchObject({
      taskRunStates: [{ key: 'a#1', state: 'RUNNING' }, { key: 'a#1', state: 'SUCCESS' }],
      logLines: [{ message: 'one' }, { message: 'two' }],
      materializations: [],
    });
    expect(batch!.batchId).toMatch(/^[0-9a-f-]{36}$/);
    await relay.close();
    expect(server.calls).toEqual([]);
  });

  it('is null when nothing is left', async () => {
    const relay = relayWith(recordingApi().api);
    relay.open();
    expect(await relay.takeFinalBatch()).toBeNull();
  });

  it('is null when more than one batch is left, which then leaves the usual way', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api, { maxBatchLines: 2 });
    // Not opened: nothing leaves before the end, so three entries wait.
    for (const message of ['one', 'two', 'three']) relay.log(line(message));
    expect(await relay.takeFinalBatch()).toBeNull();
    await relay.close();
    expect(server.calls).toEqual(['writeLogs one,two', 'writeLogs three']);
  });

  it('is null when part of what is left waits on disk', async () => {
    const server = recordingApi();
    // No memory beyond two batches of one entry: the third entry goes to the spool file.
    const relay = relayWith(server.api, { maxBatchLines: 1, spool: { dir: await tempDir(), budget: new SpoolBudget(1024 * 1024) } });
    for (const message of ['one', 'two', 'three']) relay.log(line(message));
    expect(await relay.takeFinalBatch()).toBeNull();
    await relay.close();
    expect(server.calls).toEqual(['writeLogs one', 'writeLogs two', 'writeLogs three']);
  });

  it('gives a batch back to leave on its own, in order', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api);
    relay.taskState(state('a#1', 'SUCCESS'));
    relay.log(line('one'));
    const batch = await relay.takeFinalBatch();
    relay.giveBack(batch!);
    await relay.close();
    expect(server.calls).toEqual(['setTaskRunStates a#1:SUCCESS', 'writeLogs one']);
  });
});
