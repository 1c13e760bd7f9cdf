// FlowRun.taskRuns pages (issue 15): a mapped run's task runs, `first` at a time after a task
// run's id, in the order they started, on every store; and the field over GraphQL. How fast a
// page of a 10,000-task run is, is measured in bench/history.ts, not here.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import type { TaskRunRecord } from '../../server/store/records.js';
import type { Store, TaskStateWrite } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { refusalOf } from '../support/refusal.js';
import { startTestServer } from '../support/test-server.js';
import { adapters } from './adapters.js';

const TENANT = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant: TENANT, role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: TENANT, role: 'agent' };
const bundle = { project: 'production', name: 'mapped', storageUri: 'file:///tmp/bundles/a.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'mapped' };

/** A running run whose mapped task has `count` task runs, written the way an agent writes them (batches of 5,000). */
async function mappedRun(service: FluxoService, count: number): Promise<string> {
  await service.registerFlow(developer, bundle);
  const agent = await service.registerAgent(agentIdentity, { name: 'escritorio', labels: [] });
  const run = await service.createFlowRun(developer, { flowName: 'mapped' });
  const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
  await service.setFlowRunState(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, expectedVersion: 2, state: 'RUNNING' });
  for (let start = 0; start < count; start += 5000) {
    const states = Array.from({ length: Math.min(5000, count - start) }, (_, i) => ({ key: `square[${start + i}]#1`, taskName: 'square', mapIndex: start + i, attempt: 1, state: 'RUNNING' as const, message: null }));
    await service.setTaskRunStates(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, states });
  }
  return run.id;
}

/** Every page of `size` from the first, following each page's last id. */
async function walk(store: Store, runId: string, size: number): Promise<TaskRunRecord[][]> {
  const pages: TaskRunRecord[][] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.listTaskRuns(TENANT, runId, { first: size, after });
    if (page.length > 0) pages.push(page);
    if (page.length < size) return pages;
    after = page.at(-1)!.id;
  }
}

describe.each(adapters)('task run pages on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, service: new FluxoService(store, new EventBus(), { leaseMs: 60_000 }) };
  }

  it('stores a task state reported without a message (the field left out) as no message', async () => {
    const { store, service } = await setup();
    await service.registerFlow(developer, bundle);
    const agent = await service.registerAgent(agentIdentity, { name: 'escritorio', labels: [] });
    const run = await service.createFlowRun(developer, { flowName: 'mapped' });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const lease = { flowRunId: run.id, leaseToken: claim!.leaseToken };
    await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: 2, state: 'RUNNING' });
    // Absent optional fields arrive as undefined (GraphQL leaves them out): PostgreSQL failed on that.
    const states = [{ key: 'square#1', taskName: 'square', attempt: 1, state: 'SUCCESS' as const }] as TaskStateWrite[];
    await service.setTaskRunStates(agentIdentity, { ...lease, states });
    const [task] = await store.listTaskRuns(TENANT, run.id);
    expect(task).toMatchObject({ state: 'SUCCESS', stateMessage: null });
  });

  it('walks a run of 10,000 task runs in pages, each once, in the order they started', async () => {
    const { store, service } = await setup();
    const runId = await mappedRun(service, 10_000);
    const all = await store.listTaskRuns(TENANT, runId);
    expect(all).toHaveLength(10_000);

    const pages = await walk(store, runId, 1000);
    expect(pages.map((page) => page.length)).toEqual(Array(10).fill(1000));
    expect(pages.flat().map((task) => task.id)).toEqual(all.map((task) => task.id));
    // An uneven size ends with the remainder, and a page after the last task run is empty.
    const uneven = await walk(store, runId, 3000);
    expect(uneven.map((page) => page.length)).toEqual([3000, 3000, 3000, 1000]);
    expect(await store.listTaskRuns(TENANT, runId, { first: 10, after: all.at(-1)!.id })).toEqual([]);

    const order = all.map((task) => [task.startedAt ?? 0, task.id] as const);
    const sorted = [...order].sort(([a, x], [b, y]) => a - b || (x < y ? -1 : x > y ? 1 : 0));
    expect(order).toEqual(sorted);
  }, 120_000);

  it('refuses a cursor that is not one of the run\'s task runs, and a page size out of 1-5000, with BAD_USER_INPUT', async () => {
    const { store, service } = await setup();
    const runId = await mappedRun(service, 3);
    const other = await service.createFlowRun(developer, { flowName: 'mapped' });
    const [first] = await store.listTaskRuns(TENANT, runId, { first: 1 });
    expect(await refusalOf(store.listTaskRuns(TENANT, other.id, { first: 10, after: first!.id }))).toEqual({
      code: 'BAD_USER_INPUT',
      message: `"after" must be the id of one of this run's task runs, got "${first!.id}"`,
    });
    expect(await refusalOf(store.listTaskRuns('rj-smtr', runId, { first: 10, after: first!.id }))).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await refusalOf(store.listTaskRuns(TENANT, runId, { first: 5001 }))).toEqual({ code: 'BAD_USER_INPUT', message: '"first" must be an integer from 1 to 5000, got 5001' });
  });
});

describe('FlowRun.taskRuns over GraphQL', () => {
  it('answers the first 1000 without arguments, and `first` after a task run\'s id', async () => {
    const api = await startTestServer();
    const runId = await mappedRun(api.server.service, 1500);
    const query = `query ($id: ID!, $first: Int, $after: String) { flowRun(id: $id) { taskRuns(first: $first, after: $after) { id mapIndex } } }`;
    const plain = await api.post(developer, `query ($id: ID!) { flowRun(id: $id) { taskRuns { id } } }`, { id: runId });
    const everything = (plain.data!.flowRun as { taskRuns: { id: string }[] }).taskRuns;
    expect(everything).toHaveLength(1000);

    const next = await api.post(developer, query, { id: runId, first: 600, after: everything.at(-1)!.id });
    const rest = (next.data!.flowRun as { taskRuns: { id: string }[] }).taskRuns;
    expect(rest).toHaveLength(500);
    expect(new Set([...everything, ...rest].map((task) => task.id)).size).toBe(1500);
  });
});
