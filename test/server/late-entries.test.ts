// deliverLateRunEntries through the real GraphQL server on SQLite and on a real PostgreSQL: the
// agent that held an attempt delivers its spooled entries after the attempt ended, once per batch
// id, marked late; nobody else can (another agent of the same subject, another subject, another
// tenant: NOT_FOUND), bad input is refused whole, and a late task state never moves a task run a
// later attempt has reached, nor the run's state.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { onCleanup } from '../support/harness.js';
import { startTestServer, type GraphQLBody } from '../support/test-server.js';
import { adapters } from './adapters.js';

const tenant = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant, role: 'developer' };
const agent: Identity = { subject: 'agent-escritorio', tenant, role: 'agent' };
const otherSubject: Identity = { subject: 'agent-vizinho', tenant, role: 'agent' };
const otherTenant: Identity = { subject: 'agent-escritorio', tenant: 'rj-smtr', role: 'agent' };

const DELIVER = 'mutation ($input: LateRunEntriesInput!) { deliverLateRunEntries(input: $input) }';
const line = (message: string) => ({ level: 'INFO', stream: 'stdout', message, timestamp: '2026-12-04T10:00:00.000Z' });

interface RunView {
  state: string;
  attempt: number;
  stateHistory: { toState: string; late: boolean }[];
  taskRuns: { key: string; state: string; stateHistory: { toState: string; late: boolean; attempt: number }[] }[];
  logs: { nodes: { message: string; late: boolean }[] };
}

describe.each(adapters)('late run entries on $name', ({ open }) => {
  async function setup(retries = 0) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const api = await startTestServer({ store, leaseMs: 60_000 });
    const call = async (identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> => (await api.graphql(identity, query, variables)).body;
    const data = <T,>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> => api.data<T>(identity, query, variables);
    await data(developer, `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }`, {
      input: { project: 'production', name: 'pib', storageUri: 'file:///bundles/pib.mjs', sha256: createHash('sha256').update('pib').digest('hex'), size: 100, entrypoint: 'flow', retries, retryDelaySeconds: 0 },
    });
    const register = async (who: Identity, name: string): Promise<string> =>
      (await data<{ registerAgent: { id: string } }>(who, `mutation ($name: String!) { registerAgent(input: { name: $name, labels: [] }) { id } }`, { name })).registerAgent.id;
    const agentId = await register(agent, 'crashed');
    const id = (await data<{ createFlowRun: { id: string } }>(developer, `mutation { createFlowRun(input: { project: "production", flowName: "pib" }) { id } }`)).createFlowRun.id;
    /** Claims the run as `agentId`, sets it RUNNING with a task RUNNING, and ends the attempt as `end`. */
    const attempt = async (holder: string, end: 'FAILED' | 'CRASHED') => {
      const [claim] = (await data<{ claimFlowRuns: { leaseToken: string; flowRun: { version: number } }[] }>(agent,
        `mutation ($id: ID!) { claimFlowRuns(input: { agentId: $id, max: 1 }) { leaseToken flowRun { version } } }`, { id: holder })).claimFlowRuns;
      const lease = { flowRunId: id, leaseToken: claim!.leaseToken };
      const running = await data<{ setFlowRunState: { version: number } }>(agent, `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`,
        { input: { ...lease, expectedVersion: claim!.flowRun.version, state: 'RUNNING' } });
      await data(agent, `mutation ($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }`,
        { input: { ...lease, states: [{ key: 'extract#1', taskName: 'extract', attempt: 1, state: 'RUNNING' }] } });
      await data(agent, `mutation ($input: WriteLogsInput!) { writeLogs(input: $input) }`, { input: { ...lease, batchId: `live-${holder}-${end}`, lines: [line('live')] } });
      await data(agent, `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`,
        { input: { ...lease, expectedVersion: running.setFlowRunState.version, state: end, reason: end === 'CRASHED' ? 'agent-stopped' : null } });
    };
    const view = async (): Promise<RunView> => (await data<{ flowRun: RunView }>(developer, `query ($id: ID!) { flowRun(id: $id) {
      state attempt stateHistory { toState late }
      taskRuns { key state stateHistory { toState late attempt } }
      logs(first: 100) { nodes { message late } }
    } }`, { id })).flowRun;
    return { call, data, register, agentId, id, attempt, view };
  }

  it('stores the entries of an ended attempt once, marked late, in order, without changing the run', async () => {
    const s = await setup();
    await s.attempt(s.agentId, 'CRASHED');
    const input = {
      agentId: s.agentId, flowRunId: s.id, attempt: 1, batchId: 'spool:1:1:0',
      taskRunStates: [{ key: 'extract#1', taskName: 'extract', attempt: 1, state: 'SUCCESS', timestamp: '2026-12-04T10:00:01.000Z' }],
      logLines: [line('spooled 1'), line('spooled 2'), line('spooled 3')],
    };

    expect(await s.data(agent, DELIVER, { input })).toEqual({ deliverLateRunEntries: 4 });
    expect(await s.data(agent, DELIVER, { input })).toEqual({ deliverLateRunEntries: 0 });

    const run = await s.view();
    expect(run.state).toBe('CRASHED');
    expect(run.stateHistory.map((h) => [h.toState, h.late])).toEqual([['SCHEDULED', false], ['SUBMITTED', false], ['RUNNING', false], ['CRASHED', false]]);
    expect(run.logs.nodes).toEqual([
      { message: 'live', late: false }, { message: 'spooled 1', late: true }, { message: 'spooled 2', late: true }, { message: 'spooled 3', late: true },
    ]);
    // The task run was still in this attempt and not final: the late SUCCESS moves it.
    expect(run.taskRuns).toEqual([{ key: 'extract#1', state: 'SUCCESS', stateHistory: [{ toState: 'RUNNING', late: false, attempt: 1 }, { toState: 'SUCCESS', late: true, attempt: 1 }] }]);
  });

  it('answers NOT_FOUND to anyone but the agent that held the attempt, and stores nothing', async () => {
    const s = await setup();
    await s.attempt(s.agentId, 'CRASHED');
    const sibling = await s.register(agent, 'sibling');
    const otherSubjectsAgent = await s.register(otherSubject, 'neighbour');
    const otherTenantsAgent = await s.register(otherTenant, 'crashed');
    const entries = { flowRunId: s.id, batchId: 'spool:1:1:0', logLines: [line('forged')] };
    const refusals: [string, Identity, Record<string, unknown>][] = [
      ['another agent of the same subject', agent, { ...entries, agentId: sibling, attempt: 1 }],
      ['another subject with its own agent', otherSubject, { ...entries, agentId: otherSubjectsAgent, attempt: 1 }],
      ['another subject naming the holder', otherSubject, { ...entries, agentId: s.agentId, attempt: 1 }],
      ['another tenant', otherTenant, { ...entries, agentId: otherTenantsAgent, attempt: 1 }],
      ['the holder, for an attempt that never was', agent, { ...entries, agentId: s.agentId, attempt: 2 }],
      ['the holder, for a run that does not exist', agent, { ...entries, agentId: s.agentId, attempt: 1, flowRunId: 'no-such-run' }],
    ];
    for (const [who, identity, input] of refusals) {
      const answer = await s.call(identity, DELIVER, { input });
      expect(answer.errors?.map((e) => e.extensions?.code), who).toEqual(['NOT_FOUND']);
    }
    expect((await s.view()).logs.nodes.map((l) => l.message)).toEqual(['live']);
  });

  it.each([
    ['too many lines', { logLines: Array.from({ length: 5_001 }, (_, i) => line(`l${i}`)) }, 'logLines: at most 5,000 per batch, got 5001'],
    ['too many task states', { taskRunStates: Array.from({ length: 1_001 }, () => ({ key: 'k', taskName: 'k', attempt: 1, state: 'RUNNING', timestamp: '2026-12-04T10:00:00.000Z' })) }, 'taskRunStates: at most 1,000 per batch, got 1001'],
    ['nothing to deliver', {}, 'a late batch needs at least one task state or log line'],
    ['a state tasks never take', { taskRunStates: [{ key: 'k', taskName: 'k', attempt: 1, state: 'CANCELLED', timestamp: '2026-12-04T10:00:00.000Z' }] }, 'taskRunStates[0].state CANCELLED is not one of RUNNING, RETRYING, SUCCESS, FAILED, TIMED_OUT'],
    ['an attempt below 1', { attempt: 0, logLines: [line('x')] }, 'attempt must be an integer from 1 to 10000, got 0'],
    ['a batch id too long', { batchId: 'b'.repeat(101), logLines: [line('x')] }, 'batchId must be 1 to 100 characters'],
  ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_, overrides, message) => {
    const s = await setup();
    await s.attempt(s.agentId, 'CRASHED');
    const answer = await s.call(agent, DELIVER, { input: { agentId: s.agentId, flowRunId: s.id, attempt: 1, batchId: 'spool:1:1:0', ...overrides } });
    expect(answer.errors?.map((e) => ({ code: e.extensions?.code, message: e.message }))).toEqual([{ code: 'BAD_USER_INPUT', message }]);
    const run = await s.view();
    expect(run.logs.nodes.map((l) => l.message)).toEqual(['live']);
    expect(run.taskRuns.map((t) => t.stateHistory.length)).toEqual([1]);
  });

  it('never moves a task run a later attempt reached: the late state joins its history only', async () => {
    const s = await setup(1);
    await s.attempt(s.agentId, 'FAILED');
    // The retry is due after the version's delay (0 s): attempt 2 runs the task again.
    await s.attempt(s.agentId, 'CRASHED');
    const answer = await s.data(agent, DELIVER, {
      input: {
        agentId: s.agentId, flowRunId: s.id, attempt: 1, batchId: 'spool:1:1:0',
        taskRunStates: [{ key: 'extract#1', taskName: 'extract', attempt: 1, state: 'SUCCESS', timestamp: '2026-12-04T10:00:01.000Z' }],
        logLines: [line('from attempt 1')],
      },
    });
    expect(answer).toEqual({ deliverLateRunEntries: 2 });
    const run = await s.view();
    expect([run.state, run.attempt]).toEqual(['CRASHED', 2]);
    expect(run.taskRuns.map((t) => [t.key, t.state])).toEqual([['extract#1', 'RUNNING']]);
    expect(run.taskRuns[0]!.stateHistory.map((h) => [h.toState, h.late])).toEqual([['RUNNING', false], ['RUNNING', false], ['SUCCESS', true]]);
    expect(run.logs.nodes.at(-1)).toEqual({ message: 'from attempt 1', late: true });
  });
});
