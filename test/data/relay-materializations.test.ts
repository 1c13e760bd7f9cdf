// Writes recorded for lineage leave through the run's relay (agent/relay.ts): after the task
// states queued before them, in batches of at most 100 with a batch id kept across retries, so an
// outage of the proxy neither loses nor doubles them. The API records calls and fails on demand.
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../client/graphql-client.js';
import { RunRelay } from '../../agent/relay.js';
import type { MaterializationInput, RecordMaterializationsInput, SetTaskRunStatesInput, WriteLogsInput } from '../../schema/generated/graphql.js';

function recordingApi(failures: Error[] = []) {
  const calls: { operation: string; input: RecordMaterializationsInput | SetTaskRunStatesInput | WriteLogsInput }[] = [];
  const recorded = new Map<string, number>();
  return {
    calls,
    recorded,
    api: {
      async setTaskRunStates(input: SetTaskRunStatesInput) {
        calls.push({ operation: 'setTaskRunStates', input });
        return input.states.length;
      },
      async writeLogs(input: WriteLogsInput) {
        calls.push({ operation: 'writeLogs', input });
        return input.lines.length;
      },
      async recordMaterializations(input: RecordMaterializationsInput) {
        calls.push({ operation: 'recordMaterializations', input });
        const failure = failures.shift();
        if (failure) throw failure;
        if (!recorded.has(input.batchId)) recorded.set(input.batchId, input.items.length);
        return input.items.length;
      },
    },
  };
}

const write = (n: number): MaterializationInput => ({
  kind: 'LAKE',
  taskRunKey: 'land#1',
  dataset: 'br_ibge_pib',
  table: `t${n}`,
  partitions: ['ano=2010'],
  rows: n,
  bytes: null,
  uri: `file:///lake/staging/br_ibge_pib/t${n}`,
  mode: 'append',
});

describe('materializations in the relay', () => {
  it('leave after the task states queued before them, at most 100 per call', async () => {
    const server = recordingApi();
    const relay = new RunRelay({ api: server.api, flowRunId: 'run-1', leaseToken: 'lease-1', flushIntervalMs: 20 });
    relay.open();
    relay.taskState({ key: 'land#1', taskName: 'land', mapIndex: null, attempt: 1, state: 'RUNNING', message: null, timestamp: new Date().toISOString() });
    for (let n = 0; n < 250; n++) relay.materialization(write(n));
    await relay.close();
    expect(server.calls.map((call) => call.operation)).toEqual(['setTaskRunStates', 'recordMaterializations', 'recordMaterializations', 'recordMaterializations']);
    const batches = server.calls.slice(1).map((call) => (call.input as RecordMaterializationsInput).items.length);
    expect(batches).toEqual([100, 100, 50]);
    expect(server.calls.slice(1).map((call) => (call.input as RecordMaterializationsInput).items.map((item) => item.table)).flat()).toEqual(Array.from({ length: 250 }, (_, n) => `t${n}`));
    expect(server.calls[1]?.input).toMatchObject({ flowRunId: 'run-1', leaseToken: 'lease-1' });
  });

  it('retries a batch the proxy did not answer with the same batch id: recorded once', async () => {
    const server = recordingApi([new TransportError('connection refused'), new TransportError('connection reset')]);
    const relay = new RunRelay({ api: server.api, flowRunId: 'run-1', leaseToken: 'lease-1', flushIntervalMs: 20 });
    relay.open();
    relay.materialization(write(1));
    await relay.close();
    const ids = server.calls.map((call) => (call.input as RecordMaterializationsInput).batchId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect([...server.recorded.values()]).toEqual([1]);
  }, 30_000);
});
