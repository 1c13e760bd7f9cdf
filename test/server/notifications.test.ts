// Notification rules and the outbox step below GraphQL, on every store: rule checks and refusals,
// which transitions become deliveries for which rules, idempotency of re-reading transitions,
// LATE runs, and the delivery bookkeeping (hold, backoff, FAILED).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { messageBody, signature } from '../../server/core/notification-messages.js';
import { maskUrl, Notifications } from '../../server/core/notifications.js';
import { SecretCipher } from '../../server/core/secret-cipher.js';
import { TenantSecrets } from '../../server/core/secrets.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import type { FlowRunStateType, FlowVersionRecord } from '../../server/store/records.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { NewFlowVersion, Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { refusalOf } from '../support/refusal.js';
import { adapters } from './adapters.js';

const TENANT = 'rj-smtr';
const developer: Identity = { subject: 'dev', tenant: TENANT, role: 'developer' };
const viewer: Identity = { subject: 'vera', tenant: TENANT, role: 'viewer' };
const other: Identity = { subject: 'otto', tenant: 'rj-escritorio', role: 'tenant-admin' };
const SLACK = 'https://hooks.slack.com/services/T000/B000/very-secret-token';

async function register(store: Store, tenant: string, name: string, retries = 0): Promise<FlowVersionRecord> {
  const input: NewFlowVersion = {
    project: 'production', name, contentHash: `${name}:${retries}`, storageUri: `file:///bundles/${name}.mjs`, sha256: 'a'.repeat(64), size: 1,
    entrypoint: 'main', parameterSchema: {}, defaultLabels: [], secrets: [], retries, retryDelaySeconds: 0, timeoutSeconds: null,
    description: null, clocks: [], missedRuns: 'SKIP', catchUpLimit: 10, scheduleState: 'ACTIVE',
  };
  return (await store.registerFlowVersion(tenant, input)).version;
}

/** Runs one attempt of a new (or given) run of `version` to `end` through claim and RUNNING, as an agent would. */
async function finish(store: Store, version: FlowVersionRecord, end: FlowRunStateType, runId?: string): Promise<string> {
  const tenant = version.tenant;
  const id = runId ?? (await store.createFlowRun(tenant, { flowId: version.flowId, flowVersionId: version.id, parameters: {}, labels: [], priority: 0, scheduledAt: null, idempotencyKey: null, actor: 'user:dev' })).run.id;
  const agent = (await store.upsertAgent(tenant, { name: 'a1', subject: 'a1', labels: [], concurrency: 100 }))!;
  const claims = await store.claimFlowRuns(tenant, { id: agent.id, subject: 'a1' }, [], 100, 30_000);
  const claim = claims.find((c) => c.run.id === id)!;
  const base = { flowRunId: id, leaseToken: claim.leaseToken, reason: end === 'SUCCESS' ? null : 'exit-code', message: end === 'SUCCESS' ? null : 'boom', exitCode: null, signal: null, actor: 'agent:a1' };
  const running = await store.setFlowRunState(tenant, { ...base, expectedVersion: claim.run.version, state: 'RUNNING', reason: null, message: null });
  await store.setFlowRunState(tenant, { ...base, expectedVersion: running.version, state: end });
  return id;
}

async function resetCursor(store: Store): Promise<void> {
  if (store instanceof SqliteStore) store.db.prepare('UPDATE notifier_cursor SET last_id = 0, read_id = 0').run();
  else if (store instanceof PostgresStore) await store.db.rows(sql`UPDATE notifier_cursor SET last_id = 0, read_id = 0`);
  else throw new Error('unknown store');
}

describe.each(adapters)('notifications on $name', ({ open }) => {
  async function setup(options: { keyed?: boolean; allowHttp?: boolean } = {}) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const cipher = options.keyed === false ? null : new SecretCipher({ current: 1, keys: new Map([[1, new Uint8Array(randomBytes(32))]]) });
    const secrets = new TenantSecrets(store.secrets, cipher);
    if (cipher) await secrets.set({ subject: 'rita', tenant: TENANT, role: 'tenant-admin' }, { name: 'HOOK_KEY', value: 'k3y' });
    const notifications = new Notifications(store, { secretsAvailable: cipher !== null, allowHttpWebhooks: options.allowHttp ?? false });
    const etl = await register(store, TENANT, 'etl');
    return { store, secrets, notifications, etl };
  }

  describe('rules', () => {
    it('creates, lists and deletes rules; the stored URL is whole, the shown target hides its path', async () => {
      const { store, notifications } = await setup();
      const rule = await notifications.createRule(developer, { on: ['FAILED', 'FAILED', 'CRASHED'], flowName: 'etl', channel: 'SLACK', url: SLACK });
      expect(rule).toMatchObject({ tenant: TENANT, on: ['FAILED', 'CRASHED'], channel: 'SLACK', url: SLACK, signingSecret: null, createdBy: 'dev' });
      expect(rule.flowId).not.toBeNull();
      expect(maskUrl(rule.url)).toBe('https://hooks.slack.com/…');
      const hook = await notifications.createRule(developer, { on: ['SUCCESS'], channel: 'WEBHOOK', url: 'https://example.org/hook', signingSecret: 'HOOK_KEY' });
      expect(hook).toMatchObject({ flowId: null, signingSecret: 'HOOK_KEY' });
      expect((await notifications.listRules(developer)).map((r) => r.id)).toEqual([rule.id, hook.id]);
      expect(await notifications.listRules(other)).toEqual([]);
      expect(await notifications.deleteRule(other, rule.id)).toBe(false);
      expect(await notifications.deleteRule(developer, rule.id)).toBe(true);
      expect(await notifications.deleteRule(developer, rule.id)).toBe(false);
      expect((await store.notifications.listRules(TENANT)).map((r) => r.id)).toEqual([hook.id]);
    });

    it.each([
      ['a malformed URL', { url: 'not a url' }, 'BAD_USER_INPUT', 'not a valid absolute URL'],
      ['http:// on a server without --allow-http-webhooks', { url: 'http://127.0.0.1:9/hook' }, 'BAD_USER_INPUT', 'accepts only https://'],
      ['another scheme', { url: 'ftp://example.org/x' }, 'BAD_USER_INPUT', 'is not https://'],
      ['credentials in the URL', { url: 'https://u:p@example.org/x' }, 'BAD_USER_INPUT', 'user name or password'],
      ['no events', { on: [] }, 'BAD_USER_INPUT', 'at least one event'],
      ['an unknown flow', { flowName: 'nope' }, 'NOT_FOUND', 'flow production/nope not found'],
      ['an unknown signing secret', { channel: 'WEBHOOK', signingSecret: 'NOPE' }, 'NOT_FOUND', 'no secret named NOPE'],
      ['a signing secret on Slack', { signingSecret: 'HOOK_KEY' }, 'BAD_USER_INPUT', 'only WEBHOOK rules are signed'],
    ] as const)('refuses %s', async (_, change, code, message) => {
      const { notifications, store } = await setup();
      const refusal = await refusalOf(notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK, ...change } as never));
      expect(refusal.code).toBe(code);
      expect(refusal.message).toContain(message);
      expect(refusal.message).not.toContain('very-secret-token');
      expect(await store.notifications.listRules(TENANT)).toEqual([]);
    });

    it('accepts http:// only to a loopback address when the server allows it', async () => {
      const { notifications } = await setup({ allowHttp: true });
      await expect(notifications.createRule(developer, { on: ['FAILED'], channel: 'WEBHOOK', url: 'http://127.0.0.1:9/hook' })).resolves.toMatchObject({ url: 'http://127.0.0.1:9/hook' });
      expect(await refusalOf(notifications.createRule(developer, { on: ['FAILED'], channel: 'WEBHOOK', url: 'http://example.org/hook' }))).toMatchObject({ code: 'BAD_USER_INPUT' });
    });

    it('refuses a viewer (FORBIDDEN) and a signing secret on a server without a secrets key (SECRETS_UNAVAILABLE)', async () => {
      const { notifications } = await setup();
      expect((await refusalOf(notifications.createRule(viewer, { on: ['FAILED'], channel: 'SLACK', url: SLACK }))).code).toBe('FORBIDDEN');
      expect((await refusalOf(notifications.listRules(viewer))).code).toBe('FORBIDDEN');
      expect((await refusalOf(notifications.listDeliveries(viewer, { failed: false }, { first: 10 }))).code).toBe('FORBIDDEN');
      const keyless = await setup({ keyed: false });
      const refusal = await refusalOf(keyless.notifications.createRule(developer, { on: ['FAILED'], channel: 'WEBHOOK', url: 'https://example.org/h', signingSecret: 'HOOK_KEY' }));
      expect(refusal.code).toBe('SECRETS_UNAVAILABLE');
    });
  });

  describe('the outbox step', () => {
    it('matches final transitions to flow rules and tenant rules by event, and only in their tenant', async () => {
      const { store, notifications, etl } = await setup();
      const otherFlow = await register(store, TENANT, 'other');
      const foreign = await register(store, 'rj-escritorio', 'etl');
      const tenantRule = await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      const flowRule = await notifications.createRule(developer, { on: ['SUCCESS', 'CRASHED'], flowName: 'etl', channel: 'DISCORD', url: 'https://discord.com/api/webhooks/1/x' });
      const etlOk = await finish(store, etl, 'SUCCESS');
      const etlFailed = await finish(store, etl, 'FAILED');
      const otherFailed = await finish(store, otherFlow, 'FAILED');
      await finish(store, otherFlow, 'SUCCESS'); // another flow: the flow rule does not watch it
      await finish(store, otherFlow, 'CRASHED'); // no rule of this flow sends CRASHED
      await finish(store, foreign, 'FAILED'); // another tenant's run: no rule of its tenant
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 })).toBe(3);
      const page = await notifications.listDeliveries(developer, { failed: false }, { first: 50 });
      const got = page.nodes.map((d) => `${d.ruleId === tenantRule.id ? 'tenant' : d.ruleId === flowRule.id ? 'flow' : '?'}:${d.event}:${d.flowRunId}`).sort();
      expect(got).toEqual([`flow:SUCCESS:${etlOk}`, `tenant:FAILED:${etlFailed}`, `tenant:FAILED:${otherFailed}`].sort());
      expect(page.nodes.every((d) => d.state === 'PENDING' && d.attempts === 0)).toBe(true);
      expect((await notifications.listDeliveries(other, { failed: false }, { first: 50 })).nodes).toEqual([]);
    });

    it('skips a failure that a retry follows and notifies the last attempt', async () => {
      const { store, notifications } = await setup();
      const retried = await register(store, TENANT, 'retried', 1);
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      const id = await finish(store, retried, 'FAILED');
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 })).toBe(0);
      await finish(store, retried, 'FAILED', id);
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 })).toBe(1);
      const [delivery] = (await store.notifications.listDeliveries(TENANT, { failed: false }, { first: 10 })).nodes;
      expect(delivery).toMatchObject({ flowRunId: id, event: 'FAILED' });
      const [due] = await store.notifications.takeDue(10, 60_000);
      expect(due).toMatchObject({ runAttempt: 2, runState: 'FAILED', reason: 'exit-code', message: 'boom', flow: { name: 'retried', project: 'production' } });
    });

    it('creates one delivery however often the same transitions are read', async () => {
      const { store, notifications, etl } = await setup();
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'WEBHOOK', url: 'https://example.org/h', signingSecret: 'HOOK_KEY' });
      await finish(store, etl, 'FAILED');
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 3_600_000 })).toBe(2);
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 3_600_000 })).toBe(0);
      await resetCursor(store);
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 })).toBe(0);
      expect((await store.notifications.listDeliveries(TENANT, { failed: false }, { first: 10 })).nodes).toHaveLength(2);
    });

    it('sends a rule no event from before it existed', async () => {
      const { store, notifications, etl } = await setup();
      await finish(store, etl, 'FAILED');
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      expect(await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 })).toBe(0);
    });

    it('writes one LATE delivery per rule for a scheduled run past its time', async () => {
      const { store, notifications, etl } = await setup();
      await notifications.createRule(developer, { on: ['LATE'], flowName: 'etl', channel: 'SLACK', url: SLACK });
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      const now = await store.now();
      const late = await store.createFlowRun(TENANT, { flowId: etl.flowId, flowVersionId: etl.id, parameters: {}, labels: [], priority: 0, scheduledAt: now - 120_000, idempotencyKey: null, actor: 'user:dev' });
      await store.createFlowRun(TENANT, { flowId: etl.flowId, flowVersionId: etl.id, parameters: {}, labels: [], priority: 0, scheduledAt: now + 120_000, idempotencyKey: null, actor: 'user:dev' });
      expect(await store.notifications.enqueueLate(60_000, 100)).toBe(1);
      expect(await store.notifications.enqueueLate(60_000, 100)).toBe(0);
      const [due] = await store.notifications.takeDue(10, 60_000);
      expect(due).toMatchObject({ event: 'LATE', flowRunId: late.run.id, runState: 'SCHEDULED', reason: 'late' });
    });
  });

  describe('deliveries', () => {
    it('holds a taken delivery, backs off after a failed attempt, and lists it as FAILED after the last', async () => {
      const { store, notifications, etl } = await setup();
      await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      await finish(store, etl, 'FAILED');
      await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 });
      const [due] = await store.notifications.takeDue(10, 60_000);
      expect(due?.rule).toMatchObject({ channel: 'SLACK', url: SLACK });
      expect(await store.notifications.takeDue(10, 60_000)).toEqual([]);
      await store.notifications.recordAttempt(due!.id, { delivered: false, error: 'HTTP 500', retryInMs: 0 });
      const [again] = await store.notifications.takeDue(10, 60_000);
      expect(again).toMatchObject({ id: due!.id, attempts: 1, lastError: 'HTTP 500', state: 'PENDING' });
      await store.notifications.recordAttempt(due!.id, { delivered: false, error: 'timed out', retryInMs: null });
      const failed = await notifications.listDeliveries(developer, { failed: true }, { first: 10 });
      expect(failed.nodes).toEqual([expect.objectContaining({ id: due!.id, state: 'FAILED', attempts: 2, lastError: 'timed out', nextAttemptAt: null })]);
      expect(await store.notifications.takeDue(10, 0)).toEqual([]);
    });

    it('records a delivered attempt and keeps the delivery when its rule is deleted', async () => {
      const { store, notifications, etl } = await setup();
      const rule = await notifications.createRule(developer, { on: ['FAILED'], channel: 'SLACK', url: SLACK });
      await finish(store, etl, 'FAILED');
      await store.notifications.enqueueTransitions({ batchSize: 1000, settleMs: 0 });
      const [due] = await store.notifications.takeDue(10, 60_000);
      await store.notifications.recordAttempt(due!.id, { delivered: true });
      await notifications.deleteRule(developer, rule.id);
      const [delivered] = (await notifications.listDeliveries(developer, { failed: false }, { first: 10 })).nodes;
      expect(delivered).toMatchObject({ id: due!.id, state: 'DELIVERED', attempts: 1, ruleId: null });
      expect(delivered!.deliveredAt).toEqual(expect.any(Number));
    });
  });
});

describe('notification messages', () => {
  const facts = {
    deliveryId: 'd-1', event: 'FAILED' as const, tenant: TENANT, flow: { id: 'f', name: 'etl', project: 'production' },
    run: { id: 'r-1', state: 'FAILED', reason: 'exit-code', message: 'boom', attempt: 2, scheduledAt: 0, endedAt: 1000 },
    link: 'https://fluxo.example.org/runs/r-1',
  };

  it('gives the generic webhook the documented body and an HMAC-SHA256 signature of its bytes', () => {
    const body = messageBody('WEBHOOK', facts);
    expect(JSON.parse(body)).toEqual({
      id: 'd-1', event: 'FAILED', tenant: TENANT, flow: { id: 'f', name: 'etl', project: 'production' },
      run: { id: 'r-1', state: 'FAILED', reason: 'exit-code', message: 'boom', attempt: 2, scheduledAt: '1970-01-01T00:00:00.000Z', endedAt: '1970-01-01T00:00:01.000Z' },
      link: 'https://fluxo.example.org/runs/r-1',
    });
    expect(signature('k3y', body)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('names tenant, flow, run, state, reason and link in Slack and Discord messages, and says when there is no link', () => {
    const slack = JSON.parse(messageBody('SLACK', facts)) as { text: string; blocks: unknown[] };
    for (const part of [TENANT, 'production/etl', 'r-1', 'FAILED', 'exit-code', 'https://fluxo.example.org/runs/r-1']) expect(slack.text).toContain(part);
    expect(slack.blocks).toHaveLength(1);
    const discord = JSON.parse(messageBody('DISCORD', { ...facts, link: null })) as { content: string; embeds: { url?: string }[] };
    expect(discord.content).toContain('no link: the server has no --public-url');
    expect(discord.embeds[0]!.url).toBeUndefined();
  });
});
