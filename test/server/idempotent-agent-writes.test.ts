// Retried agent writes land once, through the real GraphQL server on SQLite and on a real
// PostgreSQL: a task-state batch sent again with its batch id records no transition twice, and a
// claim sent again with its request id gets back the runs its lost answer carried (same lease
// tokens) instead of leaving them SUBMITTED until the lease expires.
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
const otherAgent: Identity = { subject: 'agent-vizinho', tenant, role: 'agent' };

interface Claimed {
  leaseToken: string;
  leaseExpiresAt: string;
  flowRun: { id: string; version: number; state: string };
}

/** The task-level transitions of a run, oldest first, read with the store's own connection. */
async function taskTransitions(store: Store, flowRunId: string): Promise<string[]> {
  if (store instanceof SqliteStore) {
    return (store.db.prepare('SELECT to_state FROM state_transitions WHERE flow_run_id = ? AND task_run_id IS NOT NULL ORDER BY id')
      .all(flowRunId) as { to_state: string }[]).map((r) => r.to_state);
  }
  if (store instanceof PostgresStore) {
    return (await store.db.rows<{ to_state: string }>(sql`SELECT to_state FROM state_transitions WHERE flow_run_id = ${flowRunId} AND task_run_id IS NOT NULL ORDER BY id`))
      .map((r) => r.to_state);
  }
  throw new Error('unknown store');
}

describe.each(adapters)('idempotent agent writes on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const api = await startTestServer({ store });
    const call = async (identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> => (await api.graphql(identity, query, variables)).body;
    const data = <T,>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> => api.data<T>(identity, query, variables);
    await data(developer, `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }`, {
      input: { project: 'production', name: 'pib', storageUri: 'file:///bundles/pib.mjs', sha256: createHash('sha256').update('pib').digest('hex'), size: 100, entrypoint: 'flow' },
    });
    const agentIdOf = async (who: Identity): Promise<string> =>
      (await data<{ registerAgent: { id: string } }>(who, `mutation ($name: String!) { registerAgent(input: { name: $name, labels: [] }) { id } }`, { name: who.subject }))
        .registerAgent.id;
    const createRun = async (): Promise<string> =>
      (await data<{ createFlowRun: { id: string } }>(developer, `mutation { createFlowRun(input: { project: "production", flowName: "pib" }) { id } }`)).createFlowRun.id;
    const claim = async (who: Identity, requestId?: string): Promise<Claimed[]> =>
      (await data<{ claimFlowRuns: Claimed[] }>(who,
        `mutation ($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken leaseExpiresAt flowRun { id version state } } }`,
        { input: { agentId: await agentIdOf(who), max: 10, ...(requestId === undefined ? {} : { requestId }) } })).claimFlowRuns;
    const history = async (id: string): Promise<string[]> =>
      (await data<{ flowRun: { stateHistory: { toState: string }[] } }>(developer, `query ($id: ID!) { flowRun(id: $id) { stateHistory { toState } } }`, { id }))
        .flowRun.stateHistory.map((h) => h.toState);
    return { store, call, data, createRun, claim, history };
  }

  describe('task states', () => {
    async function running() {
      const s = await setup();
      const id = await s.createRun();
      const [lease] = await s.claim(agent);
      await s.data(agent, `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`,
        { input: { flowRunId: id, leaseToken: lease!.leaseToken, expectedVersion: lease!.flowRun.version, state: 'RUNNING' } });
      const send = (states: { key: string; state: string }[], batchId?: string) =>
        s.data<{ setTaskRunStates: number }>(agent, `mutation ($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }`, {
          input: {
            flowRunId: id, leaseToken: lease!.leaseToken, ...(batchId === undefined ? {} : { batchId }),
            states: states.map((t) => ({ key: t.key, taskName: t.key.split('#')[0], attempt: 1, state: t.state, timestamp: new Date().toISOString() })),
          },
        }).then((d) => d.setTaskRunStates);
      return { ...s, id, send };
    }

    it('records a batch sent again with the same batch id once, answering 0 for the repeat', async () => {
      const { store, id, send } = await running();
      const batch = [{ key: 'extract#1', state: 'RUNNING' }, { key: 'extract#1', state: 'SUCCESS' }];
      expect(await send(batch, 'states-1')).toBe(2);
      // The answer was lost; the agent sends the same batch again.
      expect(await send(batch, 'states-1')).toBe(0);
      expect(await taskTransitions(store, id)).toEqual(['RUNNING', 'SUCCESS']);
    });

    it('records each new batch id, in order', async () => {
      const { store, id, send } = await running();
      expect(await send([{ key: 'extract#1', state: 'RUNNING' }], 'a')).toBe(1);
      expect(await send([{ key: 'extract#1', state: 'SUCCESS' }], 'b')).toBe(1);
      expect(await send([{ key: 'extract#1', state: 'SUCCESS' }], 'a')).toBe(0);
      expect(await taskTransitions(store, id)).toEqual(['RUNNING', 'SUCCESS']);
    });

    it('still records every call of an older agent that sends no batch id', async () => {
      const { store, id, send } = await running();
      await send([{ key: 'extract#1', state: 'RUNNING' }]);
      await send([{ key: 'extract#1', state: 'RUNNING' }]);
      expect(await taskTransitions(store, id)).toEqual(['RUNNING', 'RUNNING']);
    });

    it('refuses an empty batch id with BAD_USER_INPUT and records nothing', async () => {
      const { store, id, call } = await running();
      const body = await call(agent, `mutation ($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }`, {
        input: { flowRunId: id, leaseToken: 'x.y', batchId: '', states: [] },
      });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await taskTransitions(store, id)).toEqual([]);
    });
  });

  describe('claims', () => {
    it('answers a claim retried with the same request id with the same runs and lease tokens, claimed once', async () => {
      const { createRun, claim, history } = await setup();
      const id = await createRun();
      const first = await claim(agent, 'claim-1');
      expect(first.map((c) => c.flowRun.id)).toEqual([id]);
      // The first answer was lost: the retry carries the same request id.
      const retried = await claim(agent, 'claim-1');
      expect(retried.map((c) => [c.flowRun.id, c.leaseToken])).toEqual([[id, first[0]!.leaseToken]]);
      expect(Date.parse(retried[0]!.leaseExpiresAt)).toBeGreaterThanOrEqual(Date.parse(first[0]!.leaseExpiresAt));
      expect(await history(id)).toEqual(['SCHEDULED', 'SUBMITTED']);
    });

    it('claims the next due runs for a new request id, and replays nothing once the run started', async () => {
      const { createRun, claim, data } = await setup();
      const id = await createRun();
      const [lease] = await claim(agent, 'claim-1');
      expect(await claim(agent, 'claim-2')).toEqual([]);
      await data(agent, `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`,
        { input: { flowRunId: id, leaseToken: lease!.leaseToken, expectedVersion: lease!.flowRun.version, state: 'RUNNING' } });
      const later = await createRun();
      // The run is the agent's and RUNNING: a late retry of its claim is answered with new work only.
      expect((await claim(agent, 'claim-1')).map((c) => c.flowRun.id)).toEqual([later]);
    });

    it('replays a request id only to the agent that sent it', async () => {
      const { createRun, claim } = await setup();
      const id = await createRun();
      expect((await claim(agent, 'shared-id')).map((c) => c.flowRun.id)).toEqual([id]);
      expect(await claim(otherAgent, 'shared-id')).toEqual([]);
    });
  });
});
