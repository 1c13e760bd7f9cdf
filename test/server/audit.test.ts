// The audit log on every store: group commit, newest-first pages and filters, who may read what,
// retention's prune, the tenant list; the Apollo plugin's events through a real server; the
// internal route the proxy forwards its refusals to; and the schema offering no way to write it.
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { createAuditForwarder } from '../../auth-proxy/audit-forwarder.js';
import { signIdentity, type Identity } from '../../common/identity.js';
import { AuditLog, listTenants, readAuditEvents, type NewAuditEvent } from '../../server/core/audit-log.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { createServiceToken } from '../../server/core/service-tokens.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { pruneHistory } from '../../server/services/retention.js';
import type { AuditEventRecord, AuditStore } from '../../server/store/audit-store.js';
import { freePort, onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';
import { startTestServer } from '../support/test-server.js';
import { refusalOf } from '../support/refusal.js';

const admin: Identity = { subject: 'root', tenant: 'rj-escritorio', role: 'admin' };
const smtrAdmin: Identity = { subject: 'ana', tenant: 'rj-smtr', role: 'tenant-admin' };
const smtrDeveloper: Identity = { subject: 'dev', tenant: 'rj-smtr', role: 'developer' };
const smtrViewer: Identity = { subject: 'eve', tenant: 'rj-smtr', role: 'viewer' };

const event = (overrides: Partial<NewAuditEvent> = {}): NewAuditEvent => ({
  at: 1_700_000_000_000, tenant: 'rj-smtr', subject: 'ana', role: 'tenant-admin', action: 'query.flows', requestId: 'req-1',
  outcome: 'ALLOWED', code: null, detail: null, ...overrides,
});

const bundle = {
  project: 'production', name: 'hello', storageUri: 'file:///tmp/hello.mjs', sha256: 'a'.repeat(64), size: 10, entrypoint: 'main',
  parameterSchema: { type: 'object', properties: { password: { type: 'string' } }, additionalProperties: false },
};

describe.each(adapters)('audit log on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return store;
  }

  describe('group commit', () => {
    it('writes events recorded together in one insert, and resolves once they are committed', async () => {
      const store = await setup();
      const inserts: number[] = [];
      const counting: AuditStore = { ...store.audit, list: store.audit.list.bind(store.audit), prune: store.audit.prune.bind(store.audit), listTenants: store.audit.listTenants.bind(store.audit),
        append: async (events) => {
          inserts.push(events.length);
          await store.audit.append(events);
        } };
      const log = new AuditLog(counting);
      await Promise.all(Array.from({ length: 50 }, (_, i) => log.record([event({ requestId: `req-${i}` })])));
      expect(inserts).toEqual([50]);
      expect((await store.audit.list({}, { first: 100 })).nodes).toHaveLength(50);
      // While one insert is in flight, later events gather for the next one.
      const first = log.record([event({ requestId: 'a' })]);
      await new Promise((resolve) => setImmediate(resolve));
      const later = [log.record([event({ requestId: 'b' })]), log.record([event({ requestId: 'c' })])];
      await Promise.all([first, ...later]);
      expect(inserts.slice(1).reduce((a, b) => a + b, 0)).toBe(3);
      expect(inserts.length).toBeLessThanOrEqual(3);
    });

    it('rejects the waiting callers when the insert fails', async () => {
      const store = await setup();
      const log = new AuditLog(store.audit);
      await store.close();
      await expect(log.record([event()])).rejects.toThrow();
    });
  });

  describe('reading', () => {
    it('pages newest first and filters by tenant, subject, action, outcome and time', async () => {
      const store = await setup();
      const log = new AuditLog(store.audit);
      const events = Array.from({ length: 7 }, (_, i) =>
        event({ at: 1_700_000_000_000 + i * 1000, subject: i % 2 ? 'ana' : 'bia', action: i < 3 ? 'query.flows' : 'mutation.createFlowRun', outcome: i === 6 ? 'DENIED' : 'ALLOWED', code: i === 6 ? 'FORBIDDEN' : null }));
      await log.record([...events, event({ tenant: 'rj-cor', at: 1_700_000_010_000 }), event({ tenant: null, subject: null, role: null, action: 'proxy.authenticate', outcome: 'DENIED', code: 'TOKEN_MISSING' })]);
      const ats: number[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await readAuditEvents(store, smtrAdmin, {}, { first: 3, after });
        ats.push(...page.nodes.map((e) => e.at));
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(ats).toEqual(events.map((e) => e.at).reverse());
      const read = async (query: Parameters<typeof readAuditEvents>[2]) => (await readAuditEvents(store, smtrAdmin, query, { first: 100 })).nodes.map((e) => e.at - 1_700_000_000_000);
      expect(await read({ subject: 'ana' })).toEqual([5000, 3000, 1000]);
      expect(await read({ action: 'query.flows' })).toEqual([2000, 1000, 0]);
      expect(await read({ outcome: 'DENIED' })).toEqual([6000]);
      expect(await read({ after: 1_700_000_002_000, before: 1_700_000_004_000 })).toEqual([3000, 2000]);
    });

    it('lets an admin read every tenant and events without one, and a tenant-admin only its own', async () => {
      const store = await setup();
      await new AuditLog(store.audit).record([event(), event({ tenant: 'rj-cor' }), event({ tenant: null, subject: null, role: null, action: 'proxy.authenticate', outcome: 'DENIED', code: 'TOKEN_MISSING' })]);
      const tenantsOf = (page: { nodes: AuditEventRecord[] }) => page.nodes.map((e) => e.tenant).sort();
      expect(tenantsOf(await readAuditEvents(store, admin, {}, { first: 10 }))).toEqual(['rj-cor', 'rj-smtr', null].sort());
      expect(tenantsOf(await readAuditEvents(store, admin, { tenant: 'rj-cor' }, { first: 10 }))).toEqual(['rj-cor']);
      expect(tenantsOf(await readAuditEvents(store, smtrAdmin, {}, { first: 10 }))).toEqual(['rj-smtr']);
      expect(tenantsOf(await readAuditEvents(store, smtrAdmin, { tenant: 'rj-smtr' }, { first: 10 }))).toEqual(['rj-smtr']);
      expect(await refusalOf(readAuditEvents(store, smtrAdmin, { tenant: 'rj-cor' }, { first: 10 }))).toMatchObject({ code: 'FORBIDDEN', message: /own tenant only/ });
      expect(await refusalOf(readAuditEvents(store, smtrAdmin, { tenant: 'no-such-tenant' }, { first: 10 }))).toMatchObject({ code: 'FORBIDDEN' });
      for (const role of ['developer', 'viewer', 'agent', 'ci'] as const) {
        expect(await refusalOf(readAuditEvents(store, { subject: 'x', tenant: 'rj-smtr', role }, {}, { first: 10 }))).toMatchObject({ code: 'FORBIDDEN' });
      }
    });

    it('prunes a tenant\'s events older than a time, oldest first, and no other tenant\'s', async () => {
      const store = await setup();
      await new AuditLog(store.audit).record([
        event({ at: 1000 }), event({ at: 2000 }), event({ at: 3000 }), event({ at: 1000, tenant: 'rj-cor' }), event({ at: 1000, tenant: null }),
      ]);
      expect(await store.audit.prune('rj-smtr', 2500, 1)).toBe(1);
      expect(await store.audit.prune('rj-smtr', 2500, 10)).toBe(1);
      expect(await store.audit.prune(null, 2500, 10)).toBe(1);
      const left = (await store.audit.list({}, { first: 10 })).nodes.map((e) => `${e.tenant}@${e.at}`);
      expect(left.sort()).toEqual(['rj-cor@1000', 'rj-smtr@3000']);
    });

    it('is pruned by retention: a tenant\'s events past its retention, tenantless ones past the default', async () => {
      const store = await setup();
      await store.setTenantRetention('rj-smtr', 1);
      const now = await store.now();
      await new AuditLog(store.audit).record([
        event({ at: 1000, requestId: 'old' }), event({ at: now, requestId: 'new' }), event({ at: 1000, tenant: null, requestId: 'old-anonymous' }),
      ]);
      await pruneHistory(store, { defaultDays: 30 });
      expect((await store.audit.list({}, { first: 10 })).nodes.map((e) => e.requestId)).toEqual(['new']);
    });

    it('lists the tenants with a flow, an agent or a service token (admin only)', async () => {
      const store = await setup();
      const service = new FluxoService(store, new EventBus());
      await service.registerFlow({ ...smtrDeveloper, tenant: 'b-flows' }, bundle);
      await store.upsertAgent('a-agents', { name: 'x', subject: 'x', labels: [], concurrency: 1 });
      await createServiceToken(store, { ...smtrAdmin, tenant: 'c-tokens' }, { name: 'ci', role: 'ci' });
      expect(await listTenants(store, admin)).toEqual(['a-agents', 'b-flows', 'c-tokens']);
      expect(await refusalOf(listTenants(store, smtrAdmin))).toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('every GraphQL operation', () => {
    it('is recorded per root field with subject, tenant, role, request id and outcome, never argument values', async () => {
      const { store, graphql } = await startTestServer({ store: await setup() });
      const register = await graphql(smtrDeveloper, 'mutation R($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { id flow { id } } } }', { input: bundle }, 'req-register');
      expect(register.body.errors).toBeUndefined();
      const created = await graphql(
        smtrDeveloper,
        'mutation C($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
        { input: { flowName: 'hello', parameters: { password: 's3cr3t-value' }, idempotencyKey: 'key-with-s3cr3t' } },
        'req-create',
      );
      const runId = (created.body.data?.createFlowRun as { id: string }).id;
      // The response was sent: the mutation's event is committed already, nothing to wait for.
      const committed = (await store.audit.list({ action: 'mutation.createFlowRun' }, { first: 10 })).nodes;
      expect(committed).toEqual([expect.objectContaining({ tenant: 'rj-smtr', subject: 'dev', role: 'developer', requestId: 'req-create', outcome: 'ALLOWED', code: null, detail: `ids: ${runId}` })]);

      await graphql(smtrViewer, 'mutation { cancelFlowRun(id: "whatever") { id } }', {}, 'req-denied');
      await graphql(smtrDeveloper, 'mutation { cancelFlowRun(id: "01900000-0000-7000-8000-00000000dead") { id } }', {}, 'req-failed');
      await graphql(smtrDeveloper, '{ flows { nodes { id } } mine: agents { nodes { id } } }', {}, 'req-read');
      await graphql(smtrDeveloper, '{ nonsense }', {}, 'req-invalid');
      await graphql(smtrDeveloper, '{ broken', {}, 'req-unparsable');
      // Reads are recorded without holding their answers: wait until they are in.
      await expect.poll(async () => (await store.audit.list({ subject: 'dev' }, { first: 50 })).nodes.length).toBe(7);
      const { body } = await graphql(
        admin,
        'query A($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 50) { nodes { at tenant subject role action requestId outcome code detail } } }',
        { filter: { tenant: 'rj-smtr' } },
      );
      const events = (body.data?.auditEvents as { nodes: Record<string, unknown>[] }).nodes;
      const byRequest = (id: string) => events.filter((e) => e.requestId === id);
      expect(byRequest('req-denied')).toEqual([expect.objectContaining({ action: 'mutation.cancelFlowRun', subject: 'eve', role: 'VIEWER', outcome: 'DENIED', code: 'FORBIDDEN' })]);
      expect(byRequest('req-failed')).toEqual([expect.objectContaining({ action: 'mutation.cancelFlowRun', outcome: 'FAILED', code: 'NOT_FOUND', detail: expect.stringMatching(/not found/) })]);
      expect(byRequest('req-read').map((e) => e.action).sort()).toEqual(['query.agents', 'query.flows']);
      expect(byRequest('req-invalid')).toEqual([expect.objectContaining({ action: 'query.nonsense', outcome: 'FAILED', code: 'GRAPHQL_VALIDATION_FAILED' })]);
      expect(byRequest('req-unparsable')).toEqual([expect.objectContaining({ action: 'graphql', outcome: 'FAILED', code: 'GRAPHQL_PARSE_FAILED' })]);
      expect(byRequest('req-register')).toEqual([expect.objectContaining({ action: 'mutation.registerFlow', outcome: 'ALLOWED', detail: expect.stringMatching(/^ids: /) })]);
      const everything = JSON.stringify((await store.audit.list({}, { first: 500 })).nodes);
      expect(everything).not.toContain('s3cr3t');
    });

    it('records reading the audit log too, and refuses it to a developer', async () => {
      const { store, graphql } = await startTestServer({ store: await setup() });
      const refused = await graphql(smtrDeveloper, '{ auditEvents { nodes { id } } }', {}, 'req-peek');
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const allowed = await graphql(smtrAdmin, '{ auditEvents { nodes { id } } tenants }', {}, 'req-tenants');
      expect(allowed.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      const read = async () => (await store.audit.list({ subject: 'dev' }, { first: 10 })).nodes;
      await expect.poll(read).toEqual([expect.objectContaining({ action: 'query.auditEvents', outcome: 'DENIED', code: 'FORBIDDEN', requestId: 'req-peek' })]);
      await expect.poll(async () => (await store.audit.list({ subject: 'ana' }, { first: 10 })).nodes.map((e) => `${e.action}:${e.outcome}`).sort())
        .toEqual(['query.auditEvents:ALLOWED', 'query.tenants:DENIED']);
    });

    it('records a request the server refuses for lack of an identity', async () => {
      const { store, server } = await startTestServer({ store: await setup() });
      const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-bare' }, body: '{"query":"{ viewer { subject } }"}' });
      expect(response.status).toBe(401);
      await expect.poll(async () => (await store.audit.list({ action: 'server.authenticate' }, { first: 10 })).nodes)
        .toEqual([expect.objectContaining({ tenant: null, subject: null, outcome: 'DENIED', code: 'IDENTITY_MISSING', requestId: 'req-bare' })]);
    });
  });

  describe('POST /internal/audit', () => {
    it('appends the proxy\'s refusals', async () => {
      const { store, internal } = await startTestServer({ store: await setup() });
      // Recent times, as the proxy sends: events older than the retention period could be pruned
      // by the leader's retention pass while the test reads them.
      const now = Date.now();
      const forwarded = [
        { at: now - 1, action: 'proxy.authenticate', requestId: 'p-1', outcome: 'DENIED', code: 'TOKEN_EXPIRED', detail: 'the token expired' },
        { at: now, tenant: 'rj-smtr', subject: 'service:ci', role: 'ci', action: 'proxy.rate-limit', requestId: 'p-2', outcome: 'DENIED', code: 'RATE_LIMITED' },
      ];
      expect((await internal('/internal/audit', { events: forwarded })).status).toBe(204);
      const stored = (await store.audit.list({}, { first: 10 })).nodes;
      expect(stored.map((e) => [e.requestId, e.tenant, e.subject, e.role, e.action, e.outcome, e.code])).toEqual([
        ['p-2', 'rj-smtr', 'service:ci', 'ci', 'proxy.rate-limit', 'DENIED', 'RATE_LIMITED'],
        ['p-1', null, null, null, 'proxy.authenticate', 'DENIED', 'TOKEN_EXPIRED'],
      ]);
    });

    const valid = { at: 1_700_000_000_000, action: 'proxy.authenticate', requestId: 'p', outcome: 'DENIED', code: 'TOKEN_EXPIRED' };
    it.each([
      { name: 'an ALLOWED outcome', body: { events: [{ ...valid, outcome: 'ALLOWED' }] }, message: /outcome must be DENIED/ },
      { name: 'an unknown code', body: { events: [{ ...valid, code: 'NOPE' }] }, message: /code must be an ErrorCode/ },
      { name: 'an unknown role', body: { events: [{ ...valid, role: 'root' }] }, message: /role must be a fluxo role/ },
      { name: 'a time that is not epoch ms', body: { events: [{ ...valid, at: 'yesterday' }] }, message: /at must be epoch milliseconds/ },
      { name: 'too many events', body: { events: Array.from({ length: 501 }, () => valid) }, message: /at most 500 events/ },
      { name: 'no events list', body: { event: valid }, message: /"events"/ },
    ])('refuses $name with BAD_USER_INPUT and stores nothing', async ({ body, message }) => {
      const { store, internal } = await startTestServer({ store: await setup() });
      const answer = await internal('/internal/audit', body);
      expect(answer).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(message) }] } });
      expect((await store.audit.list({}, { first: 10 })).nodes).toEqual([]);
    });

    it('refuses a caller without the proxy credential', async () => {
      const { internal } = await startTestServer({ store: await setup() });
      expect(await internal('/internal/audit', { events: [valid] }, {})).toMatchObject({ status: 401, body: { errors: [{ extensions: { code: 'IDENTITY_MISSING' } }] } });
    });
  });
});

describe('the schema', () => {
  it('has no mutation that writes the audit log', () => {
    const mutations = Object.values(buildSchema().getMutationType()!.getFields());
    const writers = mutations.filter((field) => /audit/i.test(field.name) || /AuditEvent/.test(String(field.type)));
    expect(mutations.length).toBeGreaterThan(0);
    expect(writers.map((field) => field.name)).toEqual([]);
  });
});

describe('the proxy audit forwarder', () => {
  const refusal = (requestId: string) => ({ at: Date.now(), action: 'proxy.authenticate', requestId, outcome: 'DENIED' as const, code: 'TOKEN_EXPIRED' });

  function capturingLogger() {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { logger, lines };
  }

  it('sends queued refusals in batches and flushes on close', async () => {
    const store = await adapters[0]!.open();
    await store.migrate();
    onCleanup(() => store.close());
    const { server, secret } = await startTestServer({ store: store });
    const { logger, lines } = capturingLogger();
    const forwarder = createAuditForwarder({ upstream: new URL(server.url), identitySecret: secret, logger, maxBatch: 2, flushIntervalMs: 20 });
    for (const id of ['f-1', 'f-2', 'f-3', 'f-4', 'f-5']) forwarder.record(refusal(id));
    await forwarder.close();
    expect((await store.audit.list({}, { first: 10 })).nodes.map((e) => e.requestId).sort()).toEqual(['f-1', 'f-2', 'f-3', 'f-4', 'f-5']);
    expect(lines).toEqual([]);
  });

  it('keeps only the newest events while the server is unreachable, and counts what it lost', async () => {
    const { logger, lines } = capturingLogger();
    const forwarder = createAuditForwarder({ upstream: new URL(`http://127.0.0.1:${await freePort()}`), identitySecret: new Uint8Array(32), logger, maxBatch: 5, maxQueue: 5 });
    for (let i = 0; i < 8; i++) forwarder.record(refusal(`r-${i}`));
    await forwarder.close();
    expect(lines.at(-1)).toMatchObject({ lost: 8, msg: 'proxy audit events could not be forwarded before shutdown' });
  });
});

describe('subscriptions over WebSocket', () => {
  it('are recorded when they start, with the outcome of their first result', async () => {
    const store = await adapters[0]!.open();
    await store.migrate();
    onCleanup(() => store.close());
    const { server, secret } = await startTestServer({ store: store });
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(smtrDeveloper, bundle);
    const run = await service.createFlowRun(smtrDeveloper, { flowName: 'hello' });
    const subscribeAs = async (identity: Identity, requestId: string): Promise<string> => {
      const headers = { 'x-fluxo-identity': await signIdentity(identity, secret), 'x-request-id': requestId };
      class WithIdentity extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers });
        }
      }
      const client = createClient({ url: `${server.url.replace('http', 'ws')}/graphql`, webSocketImpl: WithIdentity, retryAttempts: 0 });
      onCleanup(() => client.dispose());
      const query = `subscription { flowRunStateChanged(id: "${run.id}") { flowRun { state } } }`;
      const first = await client.iterate<{ flowRunStateChanged: { flowRun: { state: string } } }>({ query }).next().catch((error: unknown) => ({ value: { errors: [error] } }));
      return JSON.stringify(first.value);
    };
    expect(await subscribeAs(smtrViewer, 'ws-allowed')).toContain('SCHEDULED');
    await subscribeAs({ subject: 'agent-1', tenant: 'rj-smtr', role: 'agent' }, 'ws-denied');
    await expect.poll(async () => (await store.audit.list({ action: 'subscription.flowRunStateChanged' }, { first: 10 })).nodes.map((e) => [e.requestId, e.subject, e.outcome, e.code]))
      .toEqual([['ws-denied', 'agent-1', 'DENIED', 'FORBIDDEN'], ['ws-allowed', 'eve', 'ALLOWED', null]]);
  });
});
