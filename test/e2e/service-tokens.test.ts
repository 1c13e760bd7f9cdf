// Service tokens and the audit log through a real stack (server, proxy and agent processes): a CI
// token created with the CLI registers flows, an agent runs on an agent service token, a revoked
// token is refused by the proxy within its (here 1 s) cache lifetime without reaching the server's
// GraphQL endpoint, admins read the audit log and developers cannot, and a mutation acknowledged
// right before a kill -9 of the server is in the log after the restart.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { startDaemon } from '../support/daemon.js';
import { isAlive, onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { startStack, TENANT } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const CACHE_SECONDS = 1;

interface AuditEvent {
  at: string;
  tenant: string | null;
  subject: string | null;
  role: string | null;
  action: string;
  requestId: string | null;
  outcome: string;
  code: string | null;
  detail: string | null;
}

const AUDIT_EVENTS = /* GraphQL */ `
  query($filter: AuditEventFilter) {
    auditEvents(filter: $filter, first: 500) { nodes { at tenant subject role action requestId outcome code detail } }
  }
`;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FluxoError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('service tokens and the audit log, end to end', () => {
  it('issues, uses and revokes service tokens, and audits every decision', async () => {
    const stack = await startStack({ proxyArgs: ['--service-token-cache-seconds', String(CACHE_SECONDS)] });
    const client = (token: string): GraphQLClient => {
      const c = new GraphQLClient({ apiUrl: stack.apiUrl, token });
      onCleanup(() => c.close());
      return c;
    };

    // A tenant-admin creates a CI token with the CLI; the secret is printed once.
    const created = await stack.cli(['token', 'create', '--name', 'github-ci', '--role', 'ci', '--ttl', '90d', '--json'], { role: 'tenant-admin' });
    expect(created, created.stderr).toMatchObject({ exitCode: 0 });
    const { token: ciToken, serviceToken } = JSON.parse(created.stdout) as { token: string; serviceToken: { id: string; subject: string; role: string } };
    expect(ciToken).toMatch(/^fxs_/);
    expect(serviceToken).toMatchObject({ subject: 'service:github-ci', role: 'CI' });

    // CI registers a flow with it.
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri], { env: { FLUXO_TOKEN: ciToken } });
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    // ... and nothing else: creating a run is the server's FORBIDDEN (an audited denial).
    expect(await codeOf(createRun(client(ciToken), { flowName: 'long-sleep', parameters: { seconds: 0 } }))).toBe('FORBIDDEN');

    // An agent runs on an agent service token.
    const admin = client(await stack.token('tenant-admin'));
    const { createServiceToken: agentToken } = await admin.request<{ createServiceToken: { token: string } }>(
      'mutation($input: CreateServiceTokenInput!) { createServiceToken(input: $input) { token } }',
      { input: { name: 'agent-escritorio-01', role: 'AGENT', labels: ['escritorio'] } },
    );
    await stack.startAgent({ name: 'service-agent', env: { FLUXO_TOKEN: agentToken.token } });
    const developer = await stack.client('developer');
    const runId = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 0 } });
    expect((await waitForFinal(developer, runId)).state).toBe('SUCCESS');
    // A failed operation, for the log.
    expect(await codeOf(developer.request('mutation { cancelFlowRun(id: "01900000-0000-7000-8000-00000000dead") { id } }'))).toBe('NOT_FOUND');

    // Revoke the CI token with the CLI: within the cache lifetime the proxy refuses it.
    const revoked = await stack.cli(['token', 'revoke', serviceToken.id], { role: 'tenant-admin' });
    expect(revoked, revoked.stderr).toMatchObject({ exitCode: 0 });
    const revokedAt = Date.now();
    await waitFor(async () => (await codeOf(client(ciToken).request('{ viewer { subject } }'))) === 'TOKEN_REVOKED' || undefined, {
      timeoutMs: (CACHE_SECONDS + 5) * 1000,
      what: 'the revoked token to be refused',
    });
    // Refused within the cache lifetime (plus the CLI's and the request's own time), not merely eventually.
    expect(Date.now() - revokedAt).toBeLessThan((CACHE_SECONDS + 2) * 1000);
    const listed = await stack.cli(['token', 'list', '--include-revoked', '--json'], { role: 'tenant-admin' });
    expect((JSON.parse(listed.stdout) as { name: string; revokedAt: string | null }[]).map((t) => [t.name, t.revokedAt !== null])).toEqual([
      ['agent-escritorio-01', false],
      ['github-ci', true],
    ]);

    // The audit log: an admin reads it, a developer may not.
    expect(await codeOf(developer.request(AUDIT_EVENTS))).toBe('FORBIDDEN');
    const auditor = await stack.client('admin');
    const events = await waitFor(
      async () => {
        const { auditEvents } = await auditor.request<{ auditEvents: { nodes: AuditEvent[] } }>(AUDIT_EVENTS);
        return auditEvents.nodes.some((e) => e.action === 'proxy.authenticate' && e.code === 'TOKEN_REVOKED') ? auditEvents.nodes : undefined;
      },
      { what: 'the proxy refusal in the audit log' },
    );
    const ci = events.filter((e) => e.subject === 'service:github-ci');
    // fluxo register asks which bundles are known, then registers its flows in one batch.
    expect(ci).toContainEqual(expect.objectContaining({ tenant: TENANT, role: 'CI', action: 'query.knownBundles', outcome: 'ALLOWED', requestId: expect.any(String) }));
    expect(ci).toContainEqual(expect.objectContaining({ tenant: TENANT, role: 'CI', action: 'mutation.registerFlows', outcome: 'ALLOWED', requestId: expect.any(String) }));
    expect(ci).toContainEqual(expect.objectContaining({ action: 'mutation.createFlowRun', outcome: 'DENIED', code: 'FORBIDDEN' }));
    // The proxy could not identify the caller of a revoked token: its refusal has no tenant or subject.
    const refusal = events.find((e) => e.action === 'proxy.authenticate' && e.code === 'TOKEN_REVOKED');
    expect(refusal).toMatchObject({ tenant: null, subject: null, outcome: 'DENIED', requestId: expect.any(String) });
    // The refused request never reached the server's GraphQL endpoint: no server event carries its request id.
    expect(events.filter((e) => e.requestId === refusal!.requestId).map((e) => e.action)).toEqual(['proxy.authenticate']);
    expect(events).toContainEqual(expect.objectContaining({ subject: 'developer-test@rj-escritorio', action: 'mutation.cancelFlowRun', outcome: 'FAILED', code: 'NOT_FOUND' }));
    expect(events).toContainEqual(expect.objectContaining({ subject: 'service:agent-escritorio-01', role: 'AGENT', action: 'mutation.claimFlowRuns', outcome: 'ALLOWED' }));
    expect(events).toContainEqual(expect.objectContaining({ subject: 'developer-test@rj-escritorio', action: 'query.auditEvents', outcome: 'DENIED', code: 'FORBIDDEN' }));

    // The same log through the CLI.
    const audited = await stack.cli(['audit', 'list', '--action', 'mutation.registerFlows', '--json'], { role: 'admin' });
    expect(audited, audited.stderr).toMatchObject({ exitCode: 0 });
    // examples/sleep.ts holds two flows: one batch, which names both versions.
    const batches = JSON.parse(audited.stdout) as AuditEvent[];
    expect(batches.map((e) => [e.subject, e.outcome])).toEqual([['service:github-ci', 'ALLOWED']]);
    expect(batches[0]!.detail).toMatch(/^ids: [0-9a-f-]{36}, [0-9a-f-]{36}$/);
  }, 120_000);

  it.each([
    { name: 'the admin role', args: ['--name', 'root', '--role', 'admin'], message: /--role must be one of tenant-admin, developer, viewer, agent, ci/ },
    { name: 'a ttl that is not a duration', args: ['--name', 'x', '--role', 'ci', '--ttl', 'forever'], message: /ttl "forever" is not a duration/ },
    { name: 'a ttl under a minute', args: ['--name', 'x', '--role', 'ci', '--ttl', '30s'], message: /ttlSeconds must be an integer from 60/ },
  ])('token create exits 2 for $name', async ({ args, message }) => {
    const stack = await startStack();
    const result = await stack.cli(['token', 'create', ...args], { role: 'tenant-admin' });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  }, 120_000);

  it('keeps the audit event of a mutation acknowledged right before the server is killed', async () => {
    const stack = await startStack();
    const admin = await stack.client('tenant-admin');
    const { createServiceToken } = await admin.request<{ createServiceToken: { serviceToken: { id: string } } }>(
      'mutation($input: CreateServiceTokenInput!) { createServiceToken(input: $input) { serviceToken { id } } }',
      { input: { name: 'last-words', role: 'VIEWER' } },
    );
    process.kill(stack.server.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.server.pid), { what: 'the server to die' });
    await startDaemon(stack.serverArgs(Number(new URL(stack.serverUrl).port)));
    const auditor = await stack.client('admin');
    const { auditEvents } = await waitFor(
      () => auditor.request<{ auditEvents: { nodes: AuditEvent[] } }>(AUDIT_EVENTS, { filter: { action: 'mutation.createServiceToken' } }),
      { what: 'the restarted server to answer' },
    );
    expect(auditEvents.nodes).toEqual([
      expect.objectContaining({ tenant: TENANT, subject: 'tenant-admin-test@rj-escritorio', role: 'TENANT_ADMIN', outcome: 'ALLOWED', detail: `ids: ${createServiceToken.serviceToken.id}` }),
    ]);
  }, 60_000);
});
