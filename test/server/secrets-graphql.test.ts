// Tenant secrets through the server's GraphQL API (in this process, on every store): who may set
// and list, what the claim answer hands to which agent, a server without a key, and that no value
// reaches any user-facing answer or the server log.
import { randomBytes } from 'node:crypto';
import { buildSchema, getNamedType, isObjectType, type GraphQLNamedType } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../common/identity.js';
import type { SecretsKeyring } from '../../common/keys.js';
import { typeDefs } from '../../schema/generated/sdl.js';
import { SecretCipher } from '../../server/core/secret-cipher.js';
import { TenantSecrets } from '../../server/core/secrets.js';
import { startServer, type RunningServer } from '../../server/http-server.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';

const VALUE = 'smtr-db-password-7c1e9b';
const OTHER_VALUE = 'escritorio-db-password-40aa';
const identitySecret = new Uint8Array(randomBytes(32));
const keyring = (): SecretsKeyring => ({ current: 1, keys: new Map([[1, new Uint8Array(randomBytes(32))]]) });

const as = (role: Identity['role'], tenant = 'rj-smtr'): Identity => ({ subject: `${role}@${tenant}`, tenant, role });

interface Answer<T> {
  data?: T | null;
  errors?: { message: string; extensions: { code: string } }[];
}

interface TestServer {
  server: RunningServer;
  store: Store;
  /** Every line the server logged, as text. */
  log: string[];
  gql<T = Record<string, unknown>>(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<Answer<T> & { raw: string }>;
}

const SET = 'mutation($input: SetSecretInput!) { setSecret(input: $input) { name createdAt updatedAt updatedBy } }';
const LIST = '{ secrets { name createdAt updatedAt updatedBy } }';
const DELETE = 'mutation($name: String!) { deleteSecret(name: $name) }';
const REGISTER_FLOW = 'mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { id secrets } } }';
const CREATE_RUN = 'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }';
const REGISTER_AGENT = 'mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }';
const CLAIM = 'mutation($input: ClaimFlowRunsInput!) { claimFlowRuns(input: $input) { leaseToken flowRun { id } secrets { name value } } }';
const RUN = '{ flowRun(id: "ID") { id state stateReason stateMessage flowVersion { secrets } stateHistory { actor reason message } } }';

describe.each(adapters)('tenant secrets over GraphQL on $name', ({ open }) => {
  async function start(secretsKeyring: SecretsKeyring | null = keyring()): Promise<TestServer> {
    const store = await open();
    await store.migrate();
    const log: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void log.push(line) });
    const server = await startServer({ store, identitySecret, logger, port: 0, secretsKeyring: secretsKeyring ?? undefined });
    onCleanup(async () => {
      await server.close();
      await store.close();
    });
    return {
      server,
      store,
      log,
      async gql(identity, query, variables = {}) {
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await signIdentity(identity, identitySecret) },
          body: JSON.stringify({ query, variables }),
        });
        const raw = await response.text();
        return { ...(JSON.parse(raw) as Answer<never>), raw };
      },
    };
  }

  /** Registers a flow declaring `secrets` in `tenant`, an agent, and one run; the agent's claim input. */
  async function flowWithRun(t: TestServer, tenant: string, name: string, secrets: string[]): Promise<{ runId: string; claim: { agentId: string; max: number } }> {
    const bundle = { project: 'production', name, storageUri: `file:///tmp/${name}.mjs`, sha256: 'b'.repeat(64), size: 10, entrypoint: 'main', secrets };
    expect((await t.gql(as('developer', tenant), REGISTER_FLOW, { input: bundle })).errors).toBeUndefined();
    const agent = await t.gql<{ registerAgent: { id: string } }>(as('agent', tenant), REGISTER_AGENT, { input: { name: `agent-${tenant}`, labels: [] } });
    const run = await t.gql<{ createFlowRun: { id: string } }>(as('developer', tenant), CREATE_RUN, { input: { flowName: name } });
    return { runId: run.data!.createFlowRun.id, claim: { agentId: agent.data!.registerAgent.id, max: 10 } };
  }

  it('lets a tenant-admin set and delete, a developer list names only, and refuses the rest', async () => {
    const t = await start();
    const set = await t.gql<{ setSecret: Record<string, string> }>(as('tenant-admin'), SET, { input: { name: 'DB_PASSWORD', value: VALUE } });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setSecret).toEqual({ name: 'DB_PASSWORD', createdAt: expect.stringMatching(/^\d{4}-/), updatedAt: expect.stringMatching(/^\d{4}-/), updatedBy: 'tenant-admin@rj-smtr' });
    expect(set.raw).not.toContain(VALUE);

    const listed = await t.gql<{ secrets: { name: string }[] }>(as('developer'), LIST);
    expect(listed.data!.secrets.map((s) => s.name)).toEqual(['DB_PASSWORD']);
    expect(listed.raw).not.toContain(VALUE);
    // Another tenant sees none of it.
    expect((await t.gql<{ secrets: unknown[] }>(as('tenant-admin', 'rj-escritorio'), LIST)).data!.secrets).toEqual([]);

    const refusals = await Promise.all([
      t.gql(as('developer'), SET, { input: { name: 'DB_PASSWORD', value: 'developer-overwrite' } }),
      t.gql(as('developer'), DELETE, { name: 'DB_PASSWORD' }),
      t.gql(as('viewer'), LIST),
      t.gql(as('ci'), SET, { input: { name: 'DB_PASSWORD', value: 'ci-overwrite' } }),
    ]);
    expect(refusals.map((r) => r.errors?.[0]?.extensions.code)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(refusals[2]!.errors![0]!.message).toMatch(/role "viewer" may not .*\(allowed: admin, tenant-admin, developer\)/);

    expect((await t.gql(as('tenant-admin'), DELETE, { name: 'DB_PASSWORD' })).data).toEqual({ deleteSecret: true });
    expect((await t.gql(as('admin'), DELETE, { name: 'DB_PASSWORD' })).data).toEqual({ deleteSecret: false });
  });

  it.each([
    ['a bad name', { name: 'db-password', value: VALUE }, /secret name "db-password" must be 1-100 upper-case letters/],
    ['a value over 64 KiB', { name: 'DB_PASSWORD', value: VALUE.repeat(3000) }, /the value is 69000 bytes; at most 65536/],
  ])('answers BAD_USER_INPUT to %s, echoing no value in the answer or the log', async (_, input, message) => {
    const t = await start();
    const answer = await t.gql(as('tenant-admin'), SET, { input });
    expect(answer.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(message) });
    expect(answer.raw).not.toContain(VALUE);
    expect(t.log.join('\n')).not.toContain(VALUE);
  });

  it("hands the declared secrets the tenant stored to the tenant's agent in the claim answer, and nowhere else", async () => {
    const t = await start();
    await t.gql(as('tenant-admin'), SET, { input: { name: 'DB_PASSWORD', value: VALUE } });
    await t.gql(as('tenant-admin'), SET, { input: { name: 'NOT_DECLARED', value: 'never-handed-out' } });
    await t.gql(as('tenant-admin', 'rj-escritorio'), SET, { input: { name: 'DB_PASSWORD', value: OTHER_VALUE } });

    const smtr = await flowWithRun(t, 'rj-smtr', 'load-gps', ['DB_PASSWORD', 'AGENT_ONLY']);
    const claimed = await t.gql<{ claimFlowRuns: { flowRun: { id: string }; secrets: unknown[] }[] }>(as('agent'), CLAIM, { input: smtr.claim });
    expect(claimed.errors).toBeUndefined();
    // AGENT_ONLY is not stored: the agent supplies it from its own host.
    expect(claimed.data!.claimFlowRuns).toEqual([{ leaseToken: expect.any(String), flowRun: { id: smtr.runId }, secrets: [{ name: 'DB_PASSWORD', value: VALUE }] }]);

    const escritorio = await flowWithRun(t, 'rj-escritorio', 'load-gps', ['DB_PASSWORD']);
    const theirs = await t.gql<{ claimFlowRuns: { secrets: unknown[] }[] }>(as('agent', 'rj-escritorio'), CLAIM, { input: escritorio.claim });
    expect(theirs.data!.claimFlowRuns.map((c) => c.secrets)).toEqual([[{ name: 'DB_PASSWORD', value: OTHER_VALUE }]]);

    const plain = await flowWithRun(t, 'rj-smtr', 'no-secrets', []);
    const none = await t.gql<{ claimFlowRuns: { secrets: unknown[] }[] }>(as('agent'), CLAIM, { input: plain.claim });
    expect(none.data!.claimFlowRuns.map((c) => c.secrets)).toEqual([[]]);

    // Users read the run, its version and the secrets' names: no value anywhere.
    const everything = await Promise.all([
      t.gql(as('admin'), RUN.replace('ID', smtr.runId)),
      t.gql(as('tenant-admin'), LIST),
      t.gql(as('developer'), '{ flows { nodes { name latestVersion { secrets } } } }'),
    ]);
    for (const answer of everything) {
      expect(answer.errors).toBeUndefined();
      expect(answer.raw).not.toContain(VALUE);
    }
    // A user cannot call the claim operation at all.
    expect((await t.gql(as('admin'), CLAIM, { input: smtr.claim })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(t.log.join('\n')).not.toMatch(new RegExp(`${VALUE}|${OTHER_VALUE}|never-handed-out`));
  });

  it('without a key answers SECRETS_UNAVAILABLE for secrets, fails runs whose stored secrets it cannot open, and serves everything else', async () => {
    const t = await start(null);
    const howTo = /this server has no secrets key.*`fluxo keys init`.*--secrets-key-file/;
    const set = await t.gql(as('tenant-admin'), SET, { input: { name: 'DB_PASSWORD', value: VALUE } });
    expect(set.errors?.[0]).toMatchObject({ extensions: { code: 'SECRETS_UNAVAILABLE' }, message: expect.stringMatching(howTo) });
    expect(set.raw).not.toContain(VALUE);
    expect((await t.gql(as('developer'), LIST)).errors?.[0]).toMatchObject({ extensions: { code: 'SECRETS_UNAVAILABLE' } });

    // A value stored while the server had its key (the key file was lost since).
    await new TenantSecrets(t.store.secrets, new SecretCipher(keyring())).set(as('tenant-admin'), { name: 'DB_PASSWORD', value: VALUE });
    const needsStored = await flowWithRun(t, 'rj-smtr', 'needs-stored', ['DB_PASSWORD']);
    const refused = await t.gql(as('agent'), CLAIM, { input: needsStored.claim });
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'SECRETS_UNAVAILABLE' }, message: expect.stringMatching(/^the flow needs stored secret DB_PASSWORD, but this server has no secrets key/) });
    const failed = await t.gql<{ flowRun: { state: string; stateReason: string; stateMessage: string; stateHistory: { actor: string }[] } }>(as('developer'), RUN.replace('ID', needsStored.runId));
    expect(failed.data!.flowRun).toMatchObject({ state: 'FAILED', stateReason: 'missing-secret', stateMessage: expect.stringMatching(/^the server could not hand out the flow's secrets: .*fluxo keys init/) });
    expect(failed.data!.flowRun.stateHistory.at(-1)).toMatchObject({ actor: 'server:secrets' });

    // Runs whose secrets are not stored (or that declare none) are claimed as usual.
    const agentOnly = await flowWithRun(t, 'rj-smtr', 'agent-only', ['AGENT_ONLY']);
    const claimed = await t.gql<{ claimFlowRuns: { flowRun: { id: string }; secrets: unknown[] }[] }>(as('agent'), CLAIM, { input: agentOnly.claim });
    expect(claimed.data!.claimFlowRuns).toEqual([expect.objectContaining({ flowRun: { id: agentOnly.runId }, secrets: [] })]);
    expect(t.log.join('\n')).not.toContain(VALUE);
  });
});

describe('the schema', () => {
  it('reaches secret values only through the claim answer of an agent operation', () => {
    const schema = buildSchema(typeDefs);
    const paths: string[] = [];
    const seen = new Set<string>();
    const walk = (type: GraphQLNamedType, path: string): void => {
      if (type.name === 'SecretValue') paths.push(path);
      if (!isObjectType(type) || seen.has(type.name)) return;
      seen.add(type.name);
      for (const field of Object.values(type.getFields())) walk(getNamedType(field.type), `${path}.${field.name}`);
    };
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      if (!root) continue;
      for (const field of Object.values(root.getFields())) {
        seen.clear();
        walk(getNamedType(field.type), `${root.name}.${field.name}`);
      }
    }
    expect(paths).toEqual(['Mutation.claimFlowRuns.secrets']);
    expect(schema.getMutationType()!.getFields().claimFlowRuns!.astNode!.directives!.map((d) => d.name.value)).toContain('agentOperation');
  });
});
