// Subscriptions are served over graphql-ws only. One sent as an HTTP POST is a client mistake and
// answers a coded BAD_USER_INPUT saying where to go, not INTERNAL_SERVER_ERROR.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { codesOf, startTestServer } from '../support/test-server.js';

const viewer: Identity = { subject: 'vera', tenant: 'rj-escritorio', role: 'viewer' };

describe('a subscription over HTTP', () => {
  it('is refused with BAD_USER_INPUT naming the WebSocket protocol', async () => {
    const api = await startTestServer();
    const answer = await api.post(viewer, 'subscription { flowRunStateChanged(id: "x") { flowRun { state } } }');
    expect(codesOf(answer)).toEqual(['BAD_USER_INPUT']);
    expect(answer.errors![0]!.message).toMatch(/graphql-ws/);
    // Queries over HTTP are unaffected.
    const queryOverHttp = await api.post(viewer, '{ viewer { subject } }');
    expect(queryOverHttp.data).toEqual({ viewer: { subject: 'vera' } });
  });
});
