// Input the server used to take without a coded refusal, or took and got wrong (issue 9, finding
// 10): automatic persisted queries, DateTime values that do not exist or have no zone, secret names
// setSecret can never store, and log ids that counted every tenant's lines. A real server in this
// process (HTTP on 127.0.0.1, SQLite), called as the proxy calls it.
import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import type { SecretsKeyring } from '../../common/keys.js';
import { flow } from '../../sdk/flow.js';
import { codesOf, startTestServer, type Answer, type TestServer } from '../support/test-server.js';

const as = (role: Identity['role'], tenant = 'rj-escritorio'): Identity => ({ subject: `${role}@${tenant}`, tenant, role });
const developer = as('developer');

const REGISTER = 'mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { id secrets } } }';
const CREATE_RUN = 'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id scheduledAt } }';
const SET_SECRET = 'mutation($input: SetSecretInput!) { setSecret(input: $input) { name } }';
const REGISTER_AGENT = 'mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }';
const CLAIM = 'mutation($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken flowRun { id } } }';
const WRITE_LOGS = 'mutation($input: WriteLogsInput!) { writeLogs(input: $input) }';
const LOGS = 'query($id: ID!, $first: Int, $after: String) { flowRun(id: $id) { logs(first: $first, after: $after) { nodes { id message } pageInfo { endCursor hasNextPage } } } }';

const bundle = (name: string, extra: Record<string, unknown> = {}) => ({
  project: 'production',
  name,
  storageUri: `file:///srv/fluxo/bundles/${name}.mjs`,
  sha256: 'c'.repeat(64),
  size: 100,
  entrypoint: 'main',
  ...extra,
});

const keyring = (): SecretsKeyring => ({ current: 1, keys: new Map([[1, new Uint8Array(randomBytes(32))]]) });
const error = (answer: Answer) => ({ code: answer.errors?.[0]?.extensions?.code, message: answer.errors?.[0]?.message });

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer({ secretsKeyring: keyring() });
  await api.post(developer, REGISTER, { input: bundle('hello') });
});

describe('automatic persisted queries', () => {
  const query = '{ viewer { subject } }';
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it.each([
    ['a hash that does not match the query', { query, extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }],
    ['the matching hash', { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha(query) } } }],
    ['a hash without the query', { extensions: { persistedQuery: { version: 1, sha256Hash: sha(query) } } }],
    ['an unknown version', { query, extensions: { persistedQuery: { version: 2, sha256Hash: sha(query) } } }],
  ])('refuses %s with HTTP 400 and BAD_USER_INPUT (APQ is off)', async (_, body) => {
    const answer = (await api.postRaw(developer, JSON.stringify(body))) as Answer;
    expect(answer.status).toBe(400);
    expect(error(answer)).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'automatic persisted queries are not supported: send the operation\'s full text in "query", without extensions.persistedQuery',
    });
  });

  it('answers the same query without the extension', async () => {
    const answer = (await api.postRaw(developer, JSON.stringify({ query }))) as Answer;
    expect(answer).toMatchObject({ status: 200, data: { viewer: { subject: developer.subject } } });
  });
});

describe('DateTime', () => {
  const expected = 'an ISO-8601 date-time with a time zone, like 2026-11-26T09:00:00Z or 2026-11-26T06:00:00-03:00';

  it.each([
    ['a day February does not have', '2027-02-30T09:00:00Z'],
    ['February 29 of a common year', '2027-02-29T09:00:00Z'],
    ['a time without a zone', '2027-03-01T09:00:00'],
    ['a date without a time', '2027-03-01'],
    ['hour 24', '2027-03-01T24:00:00Z'],
    ['a leap second', '2027-06-30T23:59:60Z'],
    ['month 13', '2027-13-01T09:00:00Z'],
    ['an offset of 24 hours', '2027-03-01T09:00:00+24:00'],
    ['a sentence Date.parse reads', 'March 1, 2027 09:00 GMT'],
  ])('refuses %s with BAD_USER_INPUT, as a variable and as a literal', async (_, value) => {
    const asVariable = await api.post(developer, CREATE_RUN, { input: { flowName: 'hello', scheduledAt: value } });
    expect(error(asVariable)).toEqual({ code: 'BAD_USER_INPUT', message: `DateTime must be ${expected}, got ${JSON.stringify(value)}` });
    const asLiteral = await api.post(developer, `mutation { createFlowRun(input: { flowName: "hello", scheduledAt: ${JSON.stringify(value)} }) { id } }`);
    expect(error(asLiteral)).toEqual({ code: 'BAD_USER_INPUT', message: `DateTime must be ${expected}, got ${JSON.stringify(value)}` });
    // Nothing was created.
    expect(((await api.post(developer, '{ flowRuns(first: 100) { nodes { scheduledAt } } }')).data as { flowRuns: { nodes: { scheduledAt: string }[] } }).flowRuns.nodes.map((r) => r.scheduledAt)).not.toContain(
      '2027-03-02T09:00:00.000Z',
    );
  });

  it.each([
    ['UTC', '2027-03-01T09:00:00Z', '2027-03-01T09:00:00.000Z'],
    ['an offset', '2027-03-01T06:00:00-03:00', '2027-03-01T09:00:00.000Z'],
    ['fractional seconds', '2027-03-01T09:00:00.123456Z', '2027-03-01T09:00:00.123Z'],
    ['February 29 of a leap year', '2028-02-29T09:00:00Z', '2028-02-29T09:00:00.000Z'],
  ])('takes %s, at the instant it names', async (_, value, stored) => {
    const answer = await api.post(developer, CREATE_RUN, { input: { flowName: 'hello', scheduledAt: value } });
    expect(codesOf(answer)).toEqual([]);
    expect((answer.data as { createFlowRun: { scheduledAt: string } }).createFlowRun.scheduledAt).toBe(stored);
  });
});

describe('secret names: one rule for registerFlow, setSecret and flow()', () => {
  it.each([
    ['a leading underscore', '_TOKEN', 'must be 1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)'],
    ['101 characters', `A${'B'.repeat(100)}`, 'must be 1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)'],
    ['lower case', 'db_password', 'must be 1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)'],
    ['a platform name', 'FLUXO_TOKEN', 'is reserved: FLUXO_ names belong to the platform'],
  ])('refuses %s in registerFlow exactly as setSecret and flow() do', async (_, name, problem) => {
    const registered = await api.post(developer, REGISTER, { input: bundle('with-secrets', { secrets: ['DB_PASSWORD', name] }) });
    expect(error(registered)).toEqual({ code: 'BAD_USER_INPUT', message: `secrets: "${name}" ${problem}` });
    const set = await api.post(as('tenant-admin'), SET_SECRET, { input: { name, value: 'x' } });
    expect(error(set)).toEqual({ code: 'BAD_USER_INPUT', message: `secret name "${name}" ${problem}` });
    expect(() => flow('with-secrets', { secrets: [name] }, async () => undefined)).toThrow(`flow "with-secrets": secret name "${name}" ${problem}`);
  });

  it('accepts a 100-character name everywhere', async () => {
    const name = `A${'B'.repeat(99)}`;
    expect(codesOf(await api.post(developer, REGISTER, { input: bundle('long-secret', { secrets: [name] }) }))).toEqual([]);
    expect(codesOf(await api.post(as('tenant-admin'), SET_SECRET, { input: { name, value: 'x' } }))).toEqual([]);
    expect(flow('long-secret', { secrets: [name] }, async () => undefined).definition.secrets).toEqual([name]);
  });
});

describe('log ids', () => {
  /** A run of `tenant` claimed by its agent, and a writer of log batches under the lease. */
  async function runWithLogs(tenant: string) {
    await api.post(as('developer', tenant), REGISTER, { input: bundle('chatty') });
    const run = await api.post(as('developer', tenant), CREATE_RUN, { input: { flowName: 'chatty' } });
    const runId = (run.data as { createFlowRun: { id: string } }).createFlowRun.id;
    const agent = await api.post(as('agent', tenant), REGISTER_AGENT, { input: { name: `agent-${tenant}`, labels: [] } });
    const agentId = (agent.data as { registerAgent: { id: string } }).registerAgent.id;
    const claim = await api.post(as('agent', tenant), CLAIM, { input: { agentId, max: 1 } });
    const { leaseToken } = (claim.data as { claimFlowRuns: { leaseToken: string }[] }).claimFlowRuns[0]!;
    let batch = 0;
    return {
      runId,
      async write(messages: string[]) {
        const lines = messages.map((message) => ({ level: 'INFO', stream: 'logger', message, timestamp: new Date().toISOString() }));
        const answer = await api.post(as('agent', tenant), WRITE_LOGS, { input: { flowRunId: runId, leaseToken, batchId: `${tenant}-${++batch}`, lines } });
        expect(codesOf(answer)).toEqual([]);
      },
    };
  }
  const page = async (tenant: string, id: string, first: number, after?: string) =>
    (await api.post(as('viewer', tenant), LOGS, { id, first, after })).data as { flowRun: { logs: { nodes: { id: string; message: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } };

  it("shows ids that reveal nothing of other tenants' lines, and that still page and resume", async () => {
    const mine = await runWithLogs('rj-logs-a');
    const theirs = await runWithLogs('rj-logs-b');
    await mine.write(['m1', 'm2']);
    await theirs.write(['t1', 't2', 't3', 't4', 't5']);
    await mine.write(['m3', 'm4']);

    const all = (await page('rj-logs-a', mine.runId, 10)).flowRun.logs;
    expect(all.nodes.map((l) => l.message)).toEqual(['m1', 'm2', 'm3', 'm4']);
    // Not the store's counter (1, 2, 8, 9 would say another tenant wrote 5 lines in between).
    for (const line of all.nodes) expect(line.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(all.nodes.map((l) => l.id)).size).toBe(4);

    // Paging by endCursor, and resuming after any line's id, give the same lines.
    const first = (await page('rj-logs-a', mine.runId, 2)).flowRun.logs;
    expect(first.nodes.map((l) => l.message)).toEqual(['m1', 'm2']);
    const second = (await page('rj-logs-a', mine.runId, 2, first.pageInfo.endCursor!)).flowRun.logs;
    expect(second.nodes.map((l) => l.message)).toEqual(['m3', 'm4']);
    expect((await page('rj-logs-a', mine.runId, 10, all.nodes[2]!.id)).flowRun.logs.nodes.map((l) => l.message)).toEqual(['m4']);
    const subscribed = await api.overWebSocket(as('viewer', 'rj-logs-a'), 'subscription($id: ID!, $after: String) { flowRunLogs(id: $id, after: $after) { id message } }', {
      id: mine.runId,
      after: all.nodes[1]!.id,
    });
    expect(subscribed.data).toEqual({ flowRunLogs: all.nodes[2] });
  });

  it.each([
    ['a store id', '3'],
    ['garbage', 'not-a-cursor'],
    ['a tampered id', 'A'.repeat(22)],
  ])('refuses %s as "after" with BAD_USER_INPUT', async (_, after) => {
    const mine = await runWithLogs('rj-cursor');
    await mine.write(['one']);
    const answer = await api.post(as('viewer', 'rj-cursor'), LOGS, { id: mine.runId, first: 10, after });
    expect(error(answer)).toEqual({ code: 'BAD_USER_INPUT', message: `"after" must be a log line id or cursor this API returned, got "${after}"` });
  });
});
