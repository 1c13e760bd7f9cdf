// A run's first and last entries ride with its state writes (SetFlowRunStateInput.batch, issue 14),
// through the real GraphQL server on SQLite and on a real PostgreSQL: the entries land with the
// state in one transaction (after RUNNING, before a final state), a repeat of a write whose answer
// was lost records no transition, line or write twice, and a bad entry refuses the whole write.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { startTestServer, type GraphQLBody } from '../support/test-server.js';
import { adapters } from './adapters.js';

const tenant = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant, role: 'developer' };
const agent: Identity = { subject: 'agent-escritorio', tenant, role: 'agent' };

const SET_STATE = `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version state } }`;

/** Every transition of a run in the order it was recorded: `task:<key>:<state>` or `run:<state>`. */
async function transitions(store: Store, flowRunId: string): Promise<string[]> {
  type Row = { key: string | null; to_state: string };
  let rows: Row[];
  const query = 'SELECT t.key, s.to_state FROM state_transitions s LEFT JOIN task_runs t ON t.id = s.task_run_id WHERE s.flow_run_id = ';
  if (store instanceof SqliteStore) rows = store.db.prepare(`${query}? ORDER BY s.id`).all(flowRunId) as Row[];
  else if (store instanceof PostgresStore) {
    rows = await store.db.rows<Row>(sql`SELECT t.key, s.to_state FROM state_transitions s LEFT JOIN task_runs t ON t.id = s.task_run_id WHERE s.flow_run_id = ${flowRunId} ORDER BY s.id`);
  } else throw new Error('unknown store');
  return rows.map((r) => (r.key === null ? `run:${r.to_state}` : `task:${r.key}:${r.to_state}`));
}

const taskState = (key: string, state: string) => ({ key, taskName: key.split('#')[0], attempt: 1, state, timestamp: '2026-12-04T10:00:00Z' });
const logLine = (message: string) => ({ taskRunKey: 'extract#1', level: 'INFO', stream: 'stdout', message, timestamp: '2026-12-04T10:00:01Z' });
const write = { kind: 'LAKE', taskRunKey: 'extract#1', dataset: 'br_rj_pib', table: 'municipio', partitions: ['ano=2026'], rows: 10, uri: 'file:///lake/staging/br_rj_pib/municipio' };

describe.each(adapters)('state writes carrying a batch on $name', ({ open }) => {
  async function running() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const api = await startTestServer({ store });
    const call = async (identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> => (await api.graphql(identity, query, variables)).body;
    const data = <T,>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> => api.data<T>(identity, query, variables);
    await data(developer, `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }`, {
      input: { project: 'production', name: 'pib', storageUri: 'file:///bundles/pib.mjs', sha256: createHash('sha256').update('pib').digest('hex'), size: 100, entrypoint: 'flow' },
    });
    const agentId = (await data<{ registerAgent: { id: string } }>(agent, `mutation { registerAgent(input: { name: "escritorio", labels: [] }) { id } }`)).registerAgent.id;
    const id = (await data<{ createFlowRun: { id: string } }>(developer, `mutation { createFlowRun(input: { project: "production", flowName: "pib" }) { id } }`)).createFlowRun.id;
    const [lease] = (await data<{ claimFlowRuns: { leaseToken: string; flowRun: { version: number } }[] }>(agent,
      `mutation ($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken flowRun { version } } }`, { input: { agentId, max: 1 } })).claimFlowRuns;
    const setState = (state: string, expectedVersion: number, batch?: Record<string, unknown>) =>
      call(agent, SET_STATE, { input: { flowRunId: id, leaseToken: lease!.leaseToken, expectedVersion, state, ...(batch ? { batch } : {}) } });
    const read = async () => (await data<{ flowRun: { state: string; logs: { nodes: { message: string }[] }; materializations: { dataset: string; partitions: string[] }[] } }>(developer,
      `query ($id: ID!) { flowRun(id: $id) { state logs { nodes { message } } materializations { dataset partitions } } }`, { id })).flowRun;
    return { store, id, version: lease!.flowRun.version, setState, read };
  }

  it('records the final batch before the final state, in one write', async () => {
    const { store, id, version, setState, read } = await running();
    const started = await setState('RUNNING', version);
    const finalBatch = {
      batchId: 'last-1',
      taskRunStates: [taskState('extract#1', 'RUNNING'), taskState('extract#1', 'SUCCESS')],
      logLines: [logLine('one'), logLine('two')],
      materializations: [write],
    };
    const body = await setState('SUCCESS', (started.data as { setFlowRunState: { version: number } }).setFlowRunState.version, finalBatch);
    expect(body.errors).toBeUndefined();
    expect(await transitions(store, id)).toEqual(['run:SCHEDULED', 'run:SUBMITTED', 'run:RUNNING', 'task:extract#1:RUNNING', 'task:extract#1:SUCCESS', 'run:SUCCESS']);
    expect(await read()).toEqual({ state: 'SUCCESS', logs: { nodes: [{ message: 'one' }, { message: 'two' }] }, materializations: [{ dataset: 'br_rj_pib', partitions: ['ano=2026'] }] });
  });

  it('records the first batch after RUNNING', async () => {
    const { store, id, version, setState, read } = await running();
    const body = await setState('RUNNING', version, { batchId: 'first-1', taskRunStates: [taskState('extract#1', 'RUNNING')], logLines: [logLine('starting')] });
    expect(body.errors).toBeUndefined();
    expect(await transitions(store, id)).toEqual(['run:SCHEDULED', 'run:SUBMITTED', 'run:RUNNING', 'task:extract#1:RUNNING']);
    expect((await read()).logs.nodes).toEqual([{ message: 'starting' }]);
  });

  it.each([
    ['RUNNING', ['run:SCHEDULED', 'run:SUBMITTED', 'run:RUNNING', 'task:extract#1:SUCCESS']],
    ['SUCCESS', ['run:SCHEDULED', 'run:SUBMITTED', 'run:RUNNING', 'task:extract#1:SUCCESS', 'run:SUCCESS']],
  ])('a %s write sent again after its answer was lost records each transition, line and write once', async (state, expected) => {
    const { store, id, version, setState, read } = await running();
    let expectedVersion = version;
    if (state !== 'RUNNING') expectedVersion = ((await setState('RUNNING', version)).data as { setFlowRunState: { version: number } }).setFlowRunState.version;
    const batch = { batchId: 'b-1', taskRunStates: [taskState('extract#1', 'SUCCESS')], logLines: [logLine('once')], materializations: [write] };
    const first = await setState(state, expectedVersion, batch);
    // The answer was lost: the agent sends the same request again, and is told the state it reached.
    const again = await setState(state, expectedVersion, batch);
    expect(first.errors).toBeUndefined();
    expect(again).toEqual(first);
    expect(await transitions(store, id)).toEqual(expected);
    const after = await read();
    expect(after.logs.nodes).toEqual([{ message: 'once' }]);
    expect(after.materializations).toHaveLength(1);
  });

  it('a write refused for its state records none of its batch', async () => {
    const { store, id, version, setState, read } = await running();
    // A stale version: the run moved on (VERSION_CONFLICT), so the entries must not land either.
    const body = await setState('RUNNING', version + 5, { batchId: 'stale', taskRunStates: [taskState('extract#1', 'RUNNING')], logLines: [logLine('stale')] });
    expect(body.errors?.[0]?.extensions?.code).toBe('VERSION_CONFLICT');
    expect(await transitions(store, id)).toEqual(['run:SCHEDULED', 'run:SUBMITTED']);
    expect((await read()).logs.nodes).toEqual([]);
  });

  it.each([
    ['an empty batch id', { batchId: '' }, 'batch.batchId must be 1 to 100 characters'],
    ['a batch id over 100 characters', { batchId: 'x'.repeat(101) }, 'batch.batchId must be 1 to 100 characters'],
    ['a task state that is not a task state', { batchId: 'b', taskRunStates: [taskState('extract#1', 'CANCELLING')] }, 'batch.taskRunStates[0].state CANCELLING is not one of'],
    ['a task state of attempt 0', { batchId: 'b', taskRunStates: [{ ...taskState('extract#1', 'RUNNING'), attempt: 0 }] }, 'batch.taskRunStates[0].attempt'],
    ['more than 1,000 task states', { batchId: 'b', taskRunStates: Array.from({ length: 1001 }, () => taskState('extract#1', 'RUNNING')) }, 'batch.taskRunStates: at most 1,000 per batch, got 1001'],
    ['a log line with a bad timestamp', { batchId: 'b', logLines: [{ ...logLine('x'), timestamp: 'yesterday' }] }, 'DateTime must be an ISO-8601 date-time'],
    ['more than 5,000 log lines', { batchId: 'b', logLines: Array.from({ length: 5001 }, () => logLine('x')) }, 'batch.logLines: at most 5,000 per batch, got 5001'],
    ['a write to a dataset with a bad name', { batchId: 'b', materializations: [{ ...write, dataset: '1-bad' }] }, 'batch.materializations: items[0].dataset "1-bad" must be'],
    ['more than 100 writes', { batchId: 'b', materializations: Array.from({ length: 101 }, () => write) }, 'batch.materializations: at most 100 writes per batch, got 101'],
  ])('refuses %s with BAD_USER_INPUT and changes nothing, not even the state', async (_, batch, message) => {
    const { store, id, version, setState, read } = await running();
    const started = ((await setState('RUNNING', version)).data as { setFlowRunState: { version: number } }).setFlowRunState.version;
    const body = await setState('SUCCESS', started, { taskRunStates: [taskState('extract#1', 'SUCCESS')], logLines: [logLine('kept out')], ...batch });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toContain(message);
    expect(await transitions(store, id)).toEqual(['run:SCHEDULED', 'run:SUBMITTED', 'run:RUNNING']);
    expect(await read()).toMatchObject({ state: 'RUNNING', logs: { nodes: [] }, materializations: [] });
  });
});
