// An HTTP request's operation follows its client's connection: the signal resolvers get (made
// only when a resolver reads it, server/http-server.ts) aborts when the client hangs up.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../common/identity.js';
import { startTestServer } from '../support/test-server.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agent: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/bundles/a.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };

describe('HTTP requests whose client hangs up', () => {
  it('stops a claim waiting over HTTP when its client hangs up: a run created afterwards is left for the next claim', async () => {
    const api = await startTestServer();
    const { service } = api.server;
    await service.registerFlow(developer, bundle);
    const { id: agentId } = await service.registerAgent(agent, { name: 'escritorio', labels: [] });

    const body = JSON.stringify({ query: 'mutation ($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken } }', variables: { input: { agentId, max: 1, waitMs: 30_000 } } });
    const claim = request(`${api.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await signIdentity(agent, api.secret) },
    });
    const ended = new Promise<string>((resolve) => {
      claim.on('response', () => resolve('answered'));
      claim.on('error', () => resolve('hung up'));
    });
    claim.end(body);
    // Let the claim reach its wait (were it not there yet, the hang-up would stop it all the same).
    await sleep(300);
    claim.destroy();
    expect(await ended).toBe('hung up');

    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    // A claim still waiting for the gone client would take the run within milliseconds.
    await sleep(500);
    expect((await api.store.getFlowRun(developer.tenant, run.id))?.state).toBe('SCHEDULED');
    const next = await service.claimFlowRuns(agent, { agentId, max: 1 });
    expect(next.map((c) => c.run.id)).toEqual([run.id]);
  });
});
