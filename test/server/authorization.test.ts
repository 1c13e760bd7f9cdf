// Authorization in the server: every field has a rule, nested fields do not inherit their parent's
// permission, agents read only what their own operations hand them and act only as the agents
// their subject registered, CI registers and nothing else. Real server, real SQLite, over HTTP.
import { makeExecutableSchema } from '@graphql-tools/schema';
import { isObjectType, type GraphQLObjectType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { typeDefs } from '../../schema/generated/sdl.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { fieldPermissions, guardFields } from '../../server/graphql/field-permissions.js';
import { codesOf, startTestServer, type TestServer } from '../support/test-server.js';

const TENANT = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant: TENANT, role: 'developer' };
const viewer: Identity = { subject: 'vera', tenant: TENANT, role: 'viewer' };
const ci: Identity = { subject: 'github-ci', tenant: TENANT, role: 'ci' };
const agent: Identity = { subject: 'agent-escritorio', tenant: TENANT, role: 'agent' };
const otherAgent: Identity = { subject: 'agent-intruder', tenant: TENANT, role: 'agent' };

const REGISTER = `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { created flowVersion { id number storageUri sha256 } } }`;
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///bundles/hello.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };
const REGISTER_AGENT = `mutation ($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }`;
const CLAIM = `mutation ($input: ClaimFlowRunsInput!) {
  claimFlowRuns(input: $input) { leaseToken flowRun { id version state attempt parameters flowVersion { storageUri sha256 size entrypoint timeoutSeconds secrets } } }
}`;
const FLOW_RUN = `query ($id: ID!) { flowRun(id: $id) { id version state } }`;

describe('the field permission table', () => {
  it('has an entry for every field of every object type of the schema, and none for fields it lacks', () => {
    const schema = makeExecutableSchema({ typeDefs });
    const fields = Object.values(schema.getTypeMap())
      .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'))
      .flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`));
    const entries = Object.entries(fieldPermissions).flatMap(([type, byField]) => Object.keys(byField).map((field) => `${type}.${field}`));
    expect(fields.filter((f) => !entries.includes(f)), 'schema fields without a rule').toEqual([]);
    expect(entries.filter((e) => !fields.includes(e)), 'rules for fields the schema lacks').toEqual([]);
    expect(() => buildSchema()).not.toThrow();
  });

  it('refuses to build a schema with a field that has no rule', () => {
    const schema = makeExecutableSchema({ typeDefs: `${typeDefs}\nextend type FlowRun { secretNotes: String }` });
    expect(() => guardFields(schema)).toThrow(new TypeError('FlowRun.secretNotes has no entry in fieldPermissions (server/graphql/field-permissions.ts)'));
  });
});

describe('over GraphQL', () => {
  let api: TestServer;
  beforeAll(async () => {
    api = await startTestServer();
  });

  /** A registered flow, the calling agent, and a run of the flow claimed by it. */
  async function claimedRun(by: Identity = agent, name = `agent-${Math.random().toString(36).slice(2)}`) {
    await api.post(developer, REGISTER, { input: bundle });
    const registered = await api.post(by, REGISTER_AGENT, { input: { name, labels: [] } });
    const agentId = (registered.data!.registerAgent as { id: string }).id;
    const created = await api.post(developer, `mutation { createFlowRun(input: { flowName: "hello" }) { id } }`);
    const runId = (created.data!.createFlowRun as { id: string }).id;
    const claimed = await api.post(by, CLAIM, { input: { agentId, max: 100 } });
    const claim = (claimed.data!.claimFlowRuns as { leaseToken: string; flowRun: { id: string; version: number } }[]).find((c) => c.flowRun.id === runId)!;
    return { agentId, runId, claim, claimed };
  }

  describe('agents', () => {
    it('read the bundle location of a run they claimed', async () => {
      const { claimed, runId } = await claimedRun();
      expect(codesOf(claimed)).toEqual([]);
      const claims = claimed.data!.claimFlowRuns as { flowRun: { id: string; flowVersion: unknown } }[];
      expect(claims.find((c) => c.flowRun.id === runId)!.flowRun.flowVersion).toEqual({
        storageUri: bundle.storageUri, sha256: bundle.sha256, size: 100, entrypoint: 'hello', timeoutSeconds: null, secrets: [],
      });
    });

    it('read flowRun(id) of a run they hold a lease on, and null for any other run', async () => {
      const { runId } = await claimedRun();
      const theirs = await api.post(agent, FLOW_RUN, { id: runId });
      expect(theirs.data).toEqual({ flowRun: { id: runId, version: 2, state: 'SUBMITTED' } });
      expect(await api.post(otherAgent, FLOW_RUN, { id: runId })).toEqual({ status: 200, data: { flowRun: null } });
      const scheduled = await api.post(developer, `mutation { createFlowRun(input: { flowName: "hello", scheduledAt: "2999-01-01T00:00:00.000Z" }) { id } }`);
      const unclaimed = (scheduled.data!.createFlowRun as { id: string }).id;
      expect(await api.post(agent, FLOW_RUN, { id: unclaimed })).toEqual({ status: 200, data: { flowRun: null } });
    });

    it('read flowRun(id) as null once their lease ended', async () => {
      const { runId, claim } = await claimedRun();
      const SET = `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { id version state } }`;
      const running = await api.post(agent, SET, { input: { flowRunId: runId, leaseToken: claim.leaseToken, expectedVersion: 2, state: 'RUNNING' } });
      expect(running.data).toEqual({ setFlowRunState: { id: runId, version: 3, state: 'RUNNING' } });
      const done = await api.post(agent, SET, { input: { flowRunId: runId, leaseToken: claim.leaseToken, expectedVersion: 3, state: 'SUCCESS' } });
      expect(done.data).toEqual({ setFlowRunState: { id: runId, version: 4, state: 'SUCCESS' } });
      expect(await api.post(agent, FLOW_RUN, { id: runId })).toEqual({ status: 200, data: { flowRun: null } });
    });

    it.each([
      ['logs', `logs { nodes { message } }`],
      ['taskRuns', `taskRuns { key }`],
      ['stateHistory', `stateHistory { toState }`],
      ['labels', `labels`],
      ['flow', `flow { name }`],
      ['agent', `agent { name }`],
    ])('are refused FlowRun.%s even of a run they hold', async (field, selection) => {
      const { runId } = await claimedRun();
      const answer = await api.post(agent, `query ($id: ID!) { flowRun(id: $id) { id ${selection} } }`, { id: runId });
      expect(answer.errors).toEqual([
        expect.objectContaining({ message: `role "agent" may not read FlowRun.${field} (allowed: admin, tenant-admin, developer, viewer)`, extensions: { code: 'FORBIDDEN' } }),
      ]);
    });

    it.each([
      ['projects', `{ projects { name } }`],
      ['flows', `{ flows { nodes { id } } }`],
      ['flowRuns', `{ flowRuns { nodes { id } } }`],
      ['agents', `{ agents { nodes { id } } }`],
      ['flowVersion', `{ flowVersion(id: "x") { storageUri } }`],
    ])('are refused Query.%s', async (field, query) => {
      const answer = await api.post(agent, query);
      expect(answer.errors).toEqual([expect.objectContaining({ message: expect.stringContaining(`role "agent" may not call Query.${field}`), extensions: { code: 'FORBIDDEN' } })]);
    });

    it("answer another subject's agent id exactly like an id that does not exist", async () => {
      const { agentId } = await claimedRun();
      const CLAIM_IDS = `mutation ($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken } }`;
      const HEARTBEAT = `mutation ($input: HeartbeatInput!) { heartbeat(input: $input) { renewed } }`;
      for (const [query, input] of [[CLAIM_IDS, { max: 1 }], [HEARTBEAT, { leases: [] }]] as const) {
        const real = await api.post(otherAgent, query, { input: { ...input, agentId } });
        const missing = await api.post(otherAgent, query, { input: { ...input, agentId: 'NOSUCHAGENTID' } });
        expect(real.errors![0]!.extensions).toEqual({ code: 'NOT_FOUND' });
        expect(real.errors![0]!.message.replace(agentId, '<id>')).toBe(missing.errors![0]!.message.replace('NOSUCHAGENTID', '<id>'));
      }
    });

    it('keep their agent name when another subject registers it: AGENT_NAME_TAKEN, and the holder goes on', async () => {
      const name = `held-${Math.random().toString(36).slice(2)}`;
      const first = await api.post(agent, REGISTER_AGENT, { input: { name, labels: [] } });
      const again = await api.post(otherAgent, REGISTER_AGENT, { input: { name, labels: [] } });
      const agentId = (first.data!.registerAgent as { id: string }).id;
      expect(again.errors).toEqual([expect.objectContaining({
        message: `agent name "${name}" is registered by another token of this tenant; start this agent with another --name, or have a tenant-admin move the name to this token: fluxo agents move ${name} --to-subject agent-intruder`,
        extensions: { code: 'AGENT_NAME_TAKEN' },
      })]);
      const HEARTBEAT = `mutation ($input: HeartbeatInput!) { heartbeat(input: $input) { renewed } }`;
      expect((await api.post(agent, HEARTBEAT, { input: { agentId, leases: [] } })).data).toEqual({ heartbeat: { renewed: [] } });
      expect(codesOf(await api.post(otherAgent, HEARTBEAT, { input: { agentId, leases: [] } }))).toEqual(['NOT_FOUND']);
    });

    it("cannot write states, task states or logs with another subject's lease token", async () => {
      const { runId, claim } = await claimedRun();
      await api.post(otherAgent, REGISTER_AGENT, { input: { name: 'intruder', labels: [] } });
      const lease = { flowRunId: runId, leaseToken: claim.leaseToken };
      const writes: [string, Record<string, unknown>][] = [
        [`mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { id } }`, { ...lease, expectedVersion: 2, state: 'RUNNING' }],
        [`mutation ($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }`, { ...lease, states: [{ key: 't#1', taskName: 't', attempt: 1, state: 'RUNNING' }] }],
        [`mutation ($input: WriteLogsInput!) { writeLogs(input: $input) }`, { ...lease, batchId: 'b1', lines: [{ level: 'INFO', stream: 'logger', message: 'forged', timestamp: '2026-01-01T00:00:00.000Z' }] }],
      ];
      for (const [query, input] of writes) {
        const answer = await api.post(otherAgent, query, { input });
        // The token is bound to the claiming subject (server/core/lease-binding.ts): for anyone else it is stale.
        expect(answer.errors).toEqual([expect.objectContaining({ message: expect.stringContaining(`flow run ${runId}`), extensions: { code: 'LEASE_LOST' } })]);
      }
      const run = await api.post(developer, `query ($id: ID!) { flowRun(id: $id) { state version taskRuns { key } logs { nodes { message } } } }`, { id: runId });
      expect(run.data).toEqual({ flowRun: { state: 'SUBMITTED', version: 2, taskRuns: [], logs: { nodes: [] } } });
    });

    it("renew only their own leases: another agent's lease is reported lost and left to expire", async () => {
      const { runId, claim } = await claimedRun();
      const intruder = await api.post(otherAgent, REGISTER_AGENT, { input: { name: 'intruder-2', labels: [] } });
      const before = await api.store.getFlowRun(TENANT, runId);
      const answer = await api.post(otherAgent, `mutation ($input: HeartbeatInput!) { heartbeat(input: $input) { renewed lost } }`, {
        input: { agentId: (intruder.data!.registerAgent as { id: string }).id, leases: [{ flowRunId: runId, leaseToken: claim.leaseToken }] },
      });
      expect(answer.data).toEqual({ heartbeat: { renewed: [], lost: [runId] } });
      expect((await api.store.getFlowRun(TENANT, runId))!.leaseExpiresAt).toBe(before!.leaseExpiresAt);
    });
  });

  describe('ci', () => {
    it('registers a flow and reads what the registration returned', async () => {
      const answer = await api.post(ci, REGISTER, { input: { ...bundle, name: 'from-ci' } });
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toEqual({ registerFlow: { created: true, flowVersion: { id: expect.any(String), number: 1, storageUri: bundle.storageUri, sha256: bundle.sha256 } } });
    });

    it('cannot go from the registered version to its flow and its other versions', async () => {
      const answer = await api.post(ci, `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { flow { versions { nodes { id } } } } } }`, { input: bundle });
      expect(answer.errors).toEqual([expect.objectContaining({ message: 'role "ci" may not read FlowVersion.flow (allowed: admin, tenant-admin, developer, viewer)', extensions: { code: 'FORBIDDEN' } })]);
    });

    it.each([
      ['flows', `{ flows { nodes { id } } }`],
      ['flowVersion', `{ flowVersion(id: "x") { storageUri } }`],
      ['createFlowRun', `mutation { createFlowRun(input: { flowName: "hello" }) { id } }`],
    ])('is refused %s', async (_, query) => {
      expect(codesOf(await api.post(ci, query))).toEqual(['FORBIDDEN']);
    });

    it('reads viewer', async () => {
      expect((await api.post(ci, `{ viewer { subject tenant role kind } }`)).data).toEqual({ viewer: { subject: 'github-ci', tenant: TENANT, role: 'CI', kind: 'USER' } });
    });
  });

  describe('readers', () => {
    it('read nested fields a viewer may read, and are refused the agent-only payloads', async () => {
      const { runId } = await claimedRun();
      const answer = await api.post(viewer, `query ($id: ID!) { flowRun(id: $id) { state flowVersion { storageUri } logs { nodes { id } } agent { name } } }`, { id: runId });
      expect(answer.errors).toBeUndefined();
      expect(codesOf(await api.post(viewer, CLAIM, { input: { agentId: 'x', max: 1 } }))).toEqual(['FORBIDDEN']);
    });
  });
});
