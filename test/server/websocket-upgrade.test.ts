// The server's WebSocket door (graphql-ws on /graphql, behind the proxy): a refused upgrade is
// answered with its own code's status, and an operation's signal follows the client's connection.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../common/identity.js';
import { startTestServer } from '../support/test-server.js';
import { connected, openWebSocket } from '../support/websocket-client.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agent: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/bundles/a.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };

describe('WebSocket upgrades to the server', () => {
  it('answers a refused upgrade with the status of its code: 404 NOT_FOUND off /graphql, 401 IDENTITY_MISSING without an identity', async () => {
    const api = await startTestServer();
    const wsUrl = `${api.server.url.replace(/^http/, 'ws')}`;
    const identity = { [IDENTITY_HEADER]: await signIdentity(developer, api.secret) };

    const offPath = await openWebSocket(`${wsUrl}/subscriptions`, { headers: identity });
    expect(offPath).toMatchObject({ status: 404 });
    expect(JSON.parse((offPath as { body: string }).body)).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });

    const anonymous = await openWebSocket(`${wsUrl}/graphql`);
    expect(anonymous).toMatchObject({ status: 401 });
    expect(JSON.parse((anonymous as { body: string }).body)).toMatchObject({ errors: [{ extensions: { code: 'IDENTITY_MISSING' } }] });

    // The door itself still opens.
    const open = connected(await openWebSocket(`${wsUrl}/graphql`, { headers: identity }));
    open.send({ type: 'connection_init' });
    expect(await open.next()).toEqual({ type: 'connection_ack' });
  });

  it('stops a claim waiting over a WebSocket when its client hangs up: a run created afterwards is left for the next claim', async () => {
    const api = await startTestServer();
    const { service } = api.server;
    await service.registerFlow(developer, bundle);
    const { id: agentId } = await service.registerAgent(agent, { name: 'escritorio', labels: [] });

    const socket = connected(await openWebSocket(`${api.server.url.replace(/^http/, 'ws')}/graphql`, { headers: { [IDENTITY_HEADER]: await signIdentity(agent, api.secret) } }));
    socket.send({ type: 'connection_init' });
    expect(await socket.next()).toEqual({ type: 'connection_ack' });
    socket.send({ id: '1', type: 'subscribe', payload: { query: 'mutation ($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken } }', variables: { input: { agentId, max: 1, waitMs: 30_000 } } } });
    // Let the claim reach its wait (were it not there yet, the hang-up would stop it all the same).
    await sleep(300);
    socket.socket.terminate();
    await socket.closed;

    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    // A claim still waiting for the gone client would take the run within milliseconds.
    await sleep(500);
    expect((await api.store.getFlowRun(developer.tenant, run.id))?.state).toBe('SCHEDULED');
    const next = await service.claimFlowRuns(agent, { agentId, max: 1 });
    expect(next.map((claim) => claim.run.id)).toEqual([run.id]);
  });
});
