// The proxy's access decisions against the real server: token kinds per operation, batches, admins
// acting in another tenant, and WebSockets authenticated at connection_init. A counting hop between
// a second proxy and the server proves which requests reached it.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../support/daemon.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { startStack, TENANT, type Stack } from '../support/stack.js';
import { connected, openWebSocket } from '../support/websocket-client.js';

interface Answer {
  status: number;
  code: string | undefined;
  message: string;
  data: unknown;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: response.status, code: json.errors?.[0]?.extensions?.code, message: json.errors?.[0]?.message ?? '', data: json.data };
}

const OTHER_TENANT = 'rj-smtr';

describe('the proxy in front of the real server', () => {
  let stack: Stack;
  /** The GraphQL endpoint of a proxy whose every request to the server is counted. */
  let countedApi: string;
  /** Bodies of the GraphQL requests that reached the server through `countedApi`. */
  const reached: string[] = [];
  let runId: string;

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'parameters.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    ({ createFlowRun: { id: runId } } = await developer.request<{ createFlowRun: { id: string } }>('mutation { createFlowRun(input: { flowName: "typed-parameters" }) { id } }'));
    const counter = await startFaultProxy(stack.serverUrl, (body, req) => {
      if ((req.url ?? '').startsWith('/graphql')) reached.push(body);
      return 'pass';
    });
    const proxy = await startDaemon(['proxy', 'start', '--port', '0', '--upstream', counter.url, '--keys-dir', stack.keysDir]);
    countedApi = `${String(proxy.ready.url)}/graphql`;
  }, 60_000);

  const bearer = async (role: Parameters<Stack['token']>[0], tenant = TENANT) => ({ authorization: `Bearer ${await stack.token(role, tenant)}` });

  describe('token kinds', () => {
    it.each([
      { name: 'an agent token reading flows', role: 'agent' as const, query: '{ flows { nodes { id } } }', message: /query\.flows needs a user token/ },
      {
        name: 'a developer token claiming runs',
        role: 'developer' as const,
        query: 'mutation { claimFlowRuns(input: { agentId: "x", max: 1 }) { leaseToken } }',
        message: /mutation\.claimFlowRuns is an agent operation/,
      },
    ])('refuses $name with 403 TOKEN_KIND_MISMATCH; the server never sees it', async ({ role, query, message }) => {
      const before = reached.length;
      expect(await post(countedApi, { query }, await bearer(role))).toMatchObject({ status: 403, code: 'TOKEN_KIND_MISMATCH', message: expect.stringMatching(message) });
      expect(reached.length).toBe(before);
    });

    it('lets an agent token read viewer, which any kind may call', async () => {
      const before = reached.length;
      const answer = await post(countedApi, { query: '{ viewer { role kind } }' }, await bearer('agent'));
      expect(answer.data).toEqual({ viewer: { role: 'AGENT', kind: 'AGENT' } });
      expect(reached.length).toBe(before + 1);
    });

    it('refuses a batch with 400 BAD_USER_INPUT; the server never sees it', async () => {
      const before = reached.length;
      const response = await fetch(countedApi, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await bearer('developer')) },
        body: JSON.stringify([{ query: '{ viewer { role } }' }, { query: '{ viewer { tenant } }' }]),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ errors: [{ message: 'batched requests are not supported: send one operation per request', extensions: { code: 'BAD_USER_INPUT' } }] });
      expect(reached.length).toBe(before);
    });
  });

  describe('audit', () => {
    it("records the proxy's refusal in the tenant's audit log, with the request id the client got", async () => {
      const response = await fetch(stack.apiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await bearer('agent')) },
        body: JSON.stringify({ query: '{ projects { name } }' }),
      });
      expect(response.status).toBe(403);
      const requestId = response.headers.get('x-request-id');
      const tenantAdmin = await stack.client('tenant-admin');
      type Events = { auditEvents: { nodes: { action: string; outcome: string; code: string; requestId: string; tenant: string; subject: string; role: string }[] } };
      const recorded = await waitFor(
        async () => {
          const { auditEvents } = await tenantAdmin.request<Events>('{ auditEvents(filter: { action: "query.projects", outcome: DENIED }) { nodes { action outcome code requestId tenant subject role } } }');
          return auditEvents.nodes.find((event) => event.requestId === requestId);
        },
        { what: 'the refusal in the audit log' },
      );
      expect(recorded).toEqual({ action: 'query.projects', outcome: 'DENIED', code: 'TOKEN_KIND_MISMATCH', requestId, tenant: TENANT, subject: `agent-test@${TENANT}`, role: 'AGENT' });
    });
  });

  describe('tenants', () => {
    it("lets an admin of another tenant read this tenant's flows with x-fluxo-tenant", async () => {
      const query = { query: '{ viewer { tenant } flows { nodes { name } } }' };
      const admin = await bearer('admin', OTHER_TENANT);
      expect((await post(stack.apiUrl, query, admin)).data).toEqual({ viewer: { tenant: OTHER_TENANT }, flows: { nodes: [] } });
      expect((await post(stack.apiUrl, query, { ...admin, 'x-fluxo-tenant': TENANT })).data).toEqual({ viewer: { tenant: TENANT }, flows: { nodes: [{ name: 'typed-parameters' }] } });
    });

    it('refuses a developer naming another tenant with 403 FORBIDDEN; the server never sees it', async () => {
      const before = reached.length;
      const answer = await post(countedApi, { query: '{ flows { nodes { name } } }' }, { ...(await bearer('developer', OTHER_TENANT)), 'x-fluxo-tenant': TENANT });
      expect(answer).toMatchObject({ status: 403, code: 'FORBIDDEN', message: expect.stringMatching(/^only admins may act in another tenant/) });
      expect(reached.length).toBe(before);
    });
  });

  describe('WebSockets', () => {
    /** Opens a graphql-transport-ws connection without any header, as a browser does. */
    const connect = async () => connected(await openWebSocket(stack.apiUrl.replace(/^http/, 'ws')));

    it('authenticates a subscription from connection_init and streams the run\'s state', async () => {
      const connection = await connect();
      connection.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await stack.token('viewer')}` } }));
      expect(await connection.next()).toEqual({ type: 'connection_ack' });
      connection.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription($id: ID!) { flowRunStateChanged(id: $id) { flowRun { id state } } }', variables: { id: runId } } }));
      expect(await connection.next()).toEqual({ id: '1', type: 'next', payload: { data: { flowRunStateChanged: { flowRun: { id: runId, state: 'SCHEDULED' } } } } });
    });

    it('refuses an agent token\'s user subscription with an error message, and a connection without a token with 4401', async () => {
      const agent = await connect();
      agent.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await stack.token('agent')}` } }));
      expect(await agent.next()).toEqual({ type: 'connection_ack' });
      agent.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription($id: ID!) { flowRunLogs(id: $id) { message } }', variables: { id: runId } } }));
      expect(await agent.next()).toMatchObject({ id: '1', type: 'error', payload: [{ extensions: { code: 'TOKEN_KIND_MISMATCH' } }] });

      const anonymous = await connect();
      anonymous.socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      expect((await anonymous.closed).code).toBe(4401);
    });
  });
});
