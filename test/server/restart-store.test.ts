// Task results, restart and rerun in the store and the service, on every adapter: result pointers
// and inputs hashes are stored with task states, a restart is a new attempt of the same run that
// keeps its task runs, the claim of a restarted attempt hands out the stored results (and only
// then), and a rerun is a new run naming the original.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { rerunFlowRun, restartFlowRun, storedResultsFor } from '../../server/core/restart.js';
import { FluxoService } from '../../server/core/service.js';
import type { FlowRunRecord } from '../../server/store/records.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const viewer: Identity = { subject: 'vi', tenant: 'rj-escritorio', role: 'viewer' };
const otherTenant: Identity = { subject: 'bo', tenant: 'rj-smtr', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const tenant = developer.tenant;
const HASH = 'c'.repeat(64);
const pointer = { uri: 'file:///var/lib/fluxo/results/rj-escritorio/run/1/first_231.json', sha256: 'd'.repeat(64), size: 12 };

const bundle = {
  project: 'production',
  name: 'two-tasks',
  storageUri: 'file:///tmp/bundles/two-tasks.mjs',
  sha256: 'a'.repeat(64),
  size: 100,
  entrypoint: 'main',
  parameterSchema: { type: 'object', properties: { day: { type: 'string' }, limit: { type: 'integer' } }, additionalProperties: false },
};

describe.each(adapters)('task results and restart on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(developer, bundle);
    const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    return { store, service, agentId: agent.id };
  }

  /** Claims the run, runs it: `first#1` succeeds with a stored result, `second#1` fails, the run ends FAILED. */
  async function failOnce(service: FluxoService, agentId: string, run: FlowRunRecord) {
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId, max: 1 });
    expect(claim!.run.id).toBe(run.id);
    const running = await service.setFlowRunState(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, expectedVersion: claim!.run.version, state: 'RUNNING' });
    const state = (key: string, s: 'RUNNING' | 'SUCCESS' | 'FAILED', extra: object = {}) => ({ key, taskName: key.split('#')[0]!, mapIndex: null, attempt: 1, state: s, message: null, inputsHash: HASH, ...extra });
    await service.setTaskRunStates(agentIdentity, {
      flowRunId: run.id,
      leaseToken: claim!.leaseToken,
      states: [state('first#1', 'RUNNING'), state('first#1', 'SUCCESS', { result: pointer }), state('second#1', 'RUNNING'), state('second#1', 'FAILED', { message: 'boom' })],
    });
    return service.setFlowRunState(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, expectedVersion: running.version, state: 'FAILED', reason: 'exception' });
  }

  it('stores result pointers and inputs hashes with task states, and restarts a failed run as attempt 2 that gets them with its claim', async () => {
    const { store, service, agentId } = await setup();
    const run = await service.createFlowRun(developer, { flowName: 'two-tasks' });
    await failOnce(service, agentId, run);
    const tasks = await store.listTaskRuns(tenant, run.id);
    expect(tasks.map((t) => [t.key, t.state, t.result, t.inputsHash])).toEqual([
      ['first#1', 'SUCCESS', pointer, HASH],
      ['second#1', 'FAILED', null, HASH],
    ]);

    const restarted = await restartFlowRun(service, developer, run.id);
    expect(restarted).toMatchObject({ id: run.id, state: 'SCHEDULED', attempt: 2, agentId: null, leaseToken: null, stateReason: 'restart' });
    const history = await store.listStateTransitions(tenant, run.id, null);
    expect(history.at(-1)).toMatchObject({ fromState: 'FAILED', toState: 'SCHEDULED', reason: 'restart', actor: 'user:ana', attempt: 2 });
    // Task runs stay: they point at the stored results.
    expect((await store.listTaskRuns(tenant, run.id)).length).toBe(2);

    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId, max: 1 });
    expect(claim!.run).toMatchObject({ id: run.id, attempt: 2 });
    expect(await storedResultsFor(service, claim!.run)).toEqual([{ taskKey: 'first#1', inputsHash: HASH, ...pointer }]);
  });

  it('hands out no stored results to a first attempt or to a flow-level retry', async () => {
    const { store, service, agentId } = await setup();
    const run = await service.createFlowRun(developer, { flowName: 'two-tasks' });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId, max: 1 });
    expect(await storedResultsFor(service, claim!.run)).toEqual([]);
    expect(await store.listStoredResults(tenant, run.id)).toEqual([]);

    await service.registerFlow(developer, { ...bundle, name: 'retried', retries: 1, retryDelaySeconds: 0 });
    const retried = await service.createFlowRun(developer, { flowName: 'retried' });
    expect(await failOnce(service, agentId, retried)).toMatchObject({ state: 'SCHEDULED', attempt: 2 });
    expect(await store.listStoredResults(tenant, retried.id)).toHaveLength(1);
    const [again] = await service.claimFlowRuns(agentIdentity, { agentId, max: 1 });
    expect(again!.run).toMatchObject({ id: retried.id, attempt: 2 });
    expect(await storedResultsFor(service, again!.run)).toEqual([]);
  });

  it('refuses a restart of a run that is not FAILED, CRASHED, TIMED_OUT or CANCELLED, by a viewer, and of another tenant\'s run', async () => {
    const { store, service } = await setup();
    const run = await service.createFlowRun(developer, { flowName: 'two-tasks' });
    await expect(restartFlowRun(service, developer, run.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await expect(restartFlowRun(service, viewer, run.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(restartFlowRun(service, otherTenant, run.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.getFlowRun(tenant, run.id)).toMatchObject({ state: 'SCHEDULED', attempt: 1, version: run.version });

    const cancelled = await service.cancelFlowRun(developer, run.id);
    expect(cancelled.state).toBe('CANCELLED');
    expect(await restartFlowRun(service, developer, run.id)).toMatchObject({ state: 'SCHEDULED', attempt: 2 });
  });

  it('reruns a run as a new run of the same version with merged parameters, labels and priority, naming the original', async () => {
    const { service } = await setup();
    const run = await service.createFlowRun(developer, { flowName: 'two-tasks', parameters: { day: '2024-01-01', limit: 5 }, labels: ['x'], priority: 7 });
    const rerun = await rerunFlowRun(service, developer, run.id, { limit: '9' });
    expect(rerun).toMatchObject({ flowVersionId: run.flowVersionId, parameters: { day: '2024-01-01', limit: 9 }, labels: ['x'], priority: 7, rerunOf: run.id, attempt: 1, state: 'SCHEDULED' });
    expect(rerun.id).not.toBe(run.id);
    expect((await service.store.getFlowRun(tenant, rerun.id))!.rerunOf).toBe(run.id);
    await expect(rerunFlowRun(service, developer, run.id, { unknown: 1 })).rejects.toMatchObject({ code: 'INVALID_PARAMETERS' });
    await expect(rerunFlowRun(service, developer, run.id, [1])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(rerunFlowRun(service, otherTenant, run.id, null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rerunFlowRun(service, viewer, run.id, null)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses malformed result pointers and inputs hashes, storing nothing', async () => {
    const { store, service, agentId } = await setup();
    const run = await service.createFlowRun(developer, { flowName: 'two-tasks' });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId, max: 1 });
    await service.setFlowRunState(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, expectedVersion: claim!.run.version, state: 'RUNNING' });
    const write = (extra: object, state: 'SUCCESS' | 'RUNNING' = 'SUCCESS') =>
      service.setTaskRunStates(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, states: [{ key: 't#1', taskName: 't', mapIndex: null, attempt: 1, state, message: null, ...extra }] });
    for (const bad of [
      { inputsHash: 'XYZ' },
      { result: { ...pointer, sha256: 'nothex' } },
      { result: { ...pointer, size: 64 * 1024 * 1024 + 1 } },
      { result: { ...pointer, size: -1 } },
      { result: { ...pointer, uri: `file:///${'a'.repeat(2000)}` } },
      { result: { ...pointer, uri: 'http://example.com/x.json' } },
    ]) {
      await expect(write(bad)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    await expect(write({ result: pointer }, 'RUNNING')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await store.listTaskRuns(tenant, run.id)).toEqual([]);
    await write({ result: { ...pointer, size: 0 }, inputsHash: HASH });
    expect((await store.listTaskRuns(tenant, run.id))[0]).toMatchObject({ result: { ...pointer, size: 0 }, inputsHash: HASH });
  });
});
