// The cross-tenant matrix, generated from the schema: every root field of Query, Mutation and
// Subscription is called by tenant A with tenant B's real ids (and names, and lease token), and
// again with random values of the same shape; the two answers must be identical once the values
// are normalised, and B's data unchanged afterwards. Then every root field is called by every role,
// and whether it was allowed must match the roles table of docs/security.md. A root field the
// generator cannot build arguments for fails the test, so a new operation cannot skip the matrix.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId, newToken } from '../../common/ids.js';
import { roles, type Identity, type Role } from '../../common/identity.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { fieldPermissions, rolesOf } from '../../server/graphql/field-permissions.js';
import { repoRoot } from '../support/harness.js';
import { codesOf, startTestServer, type Answer, type TestServer } from '../support/test-server.js';

const B = 'tenant-b';
const as = (role: Role, tenant: string): Identity => ({ subject: `${role}@matrix`, tenant, role });
const schema = buildSchema();
const rootTypes = [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!];
const rootFields = rootTypes.flatMap((type) => Object.values(type.getFields()).map((field) => ({ root: type.name as 'Query' | 'Mutation' | 'Subscription', field })));

/**
 * Operations an admin uses across tenants by design (schema: "every tenant (or `filter.tenant`)
 * for an admin", "every tenant that has any object"): for the admin they are not compared.
 */
const acrossTenantsForAdmin = new Set(['Query.auditEvents', 'Query.tenants']);

/** What tenant B holds, and the values the generator hands to A's calls. */
interface TenantB {
  ids: Record<'Flow' | 'FlowVersion' | 'FlowRun' | 'Agent' | 'ServiceToken' | 'NotificationRule', string>;
  project: string;
  flowName: string;
  agentName: string;
  tokenName: string;
  secretName: string;
  dataset: string;
  table: string;
  leaseToken: string;
  runVersion: number;
}

let api: TestServer;
let b: TenantB;
let tenants = 0;
/** A tenant with nothing in it: each call gets its own, so one call's writes cannot shape another's answer. */
const freshTenant = (): string => `tenant-a-${++tenants}`;

async function ok<T>(answer: Promise<Answer>): Promise<T> {
  const { data, errors } = await answer;
  if (errors) throw new Error(`setting up tenant B failed: ${JSON.stringify(errors)}`);
  return data as T;
}

/** The digest of tenant B's bundle (knownBundles must not tell another tenant it exists). */
const B_BUNDLE = randomBytes(32).toString('hex');

/** Tenant B: a flow with a version, a run held by B's agent with task runs and logs, a service token and a secret. */
async function buildTenantB(): Promise<TenantB> {
  const [developer, agent, admin] = [as('developer', B), as('agent', B), as('tenant-admin', B)];
  const registered = await ok<{ registerFlow: { flowVersion: { id: string; flow: { id: string } } } }>(api.post(developer,
    `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { id flow { id } } } }`,
    { input: { project: 'matrix-project', name: 'matrix-flow', storageUri: 'gs://tenant-b-bundles/matrix.mjs', sha256: B_BUNDLE, size: 100, entrypoint: 'flow', secrets: ['MATRIX_SECRET'], schedules: [{ cron: '0 3 * * *' }] } }));
  const { registerAgent } = await ok<{ registerAgent: { id: string } }>(api.post(agent, `mutation { registerAgent(input: { name: "matrix-agent", labels: [] }) { id } }`));
  const { createFlowRun } = await ok<{ createFlowRun: { id: string } }>(api.post(developer, `mutation { createFlowRun(input: { flowName: "matrix-flow", project: "matrix-project" }) { id } }`));
  const { claimFlowRuns } = await ok<{ claimFlowRuns: { leaseToken: string }[] }>(api.post(agent,
    `mutation ($id: ID!) { claimFlowRuns(input: { agentId: $id, max: 1 }) { leaseToken } }`, { id: registerAgent.id }));
  const lease = { flowRunId: createFlowRun.id, leaseToken: claimFlowRuns[0]!.leaseToken };
  const { setFlowRunState } = await ok<{ setFlowRunState: { version: number } }>(api.post(agent,
    `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`, { input: { ...lease, expectedVersion: 2, state: 'RUNNING' } }));
  await ok(api.post(agent, `mutation ($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }`,
    { input: { ...lease, states: [{ key: 'extract#1', taskName: 'extract', attempt: 1, state: 'RUNNING' }] } }));
  await ok(api.post(agent, `mutation ($input: WriteLogsInput!) { writeLogs(input: $input) }`,
    { input: { ...lease, batchId: 'b-1', lines: [{ level: 'INFO', stream: 'logger', message: 'tenant b only', timestamp: new Date().toISOString() }] } }));
  await ok(api.post(agent, `mutation ($input: RecordMaterializationsInput!) { recordMaterializations(input: $input) }`,
    { input: { ...lease, batchId: 'm-1', items: [{ kind: 'LAKE', dataset: 'matrixdata', table: 'matrixtable', partitions: ['ano=2010'], uri: 'file:///lake/staging/matrixdata/matrixtable' }] } }));
  const { createServiceToken } = await ok<{ createServiceToken: { serviceToken: { id: string } } }>(api.post(admin,
    `mutation { createServiceToken(input: { name: "matrix-token", role: VIEWER }) { serviceToken { id } } }`));
  await ok(api.post(admin, `mutation { setSecret(input: { name: "MATRIX_SECRET", value: "tenant-b-value" }) { name } }`));
  await ok(api.post(admin, `mutation { setConcurrencyLimit(scope: "label:matrix", limit: 3) { scope } }`));
  const { createNotificationRule } = await ok<{ createNotificationRule: { id: string } }>(api.post(developer,
    `mutation { createNotificationRule(input: { on: [FAILED], flowName: "matrix-flow", project: "matrix-project", channel: WEBHOOK, url: "https://hooks.example.org/tenant-b", signingSecret: "MATRIX_SECRET" }) { id } }`));
  return {
    ids: {
      Flow: registered.registerFlow.flowVersion.flow.id,
      FlowVersion: registered.registerFlow.flowVersion.id,
      FlowRun: createFlowRun.id,
      Agent: registerAgent.id,
      ServiceToken: createServiceToken.serviceToken.id,
      NotificationRule: createNotificationRule.id,
    },
    project: 'matrix-project',
    flowName: 'matrix-flow',
    agentName: 'matrix-agent',
    tokenName: 'matrix-token',
    secretName: 'MATRIX_SECRET',
    dataset: 'matrixdata',
    table: 'matrixtable',
    leaseToken: lease.leaseToken,
    runVersion: setFlowRunState.version,
  };
}

/** Everything B's tenant-admin can read about B, to compare before and after each operation. */
async function snapshotOfB(): Promise<unknown> {
  const admin = as('tenant-admin', B);
  const run = { id: b.ids.FlowRun };
  // Several small queries: one reading everything would exceed the server's cost limit.
  return Promise.all([
    ok(api.post(admin, `{
      projects { id name createdAt }
      flows(first: 10) { nodes { id name createdAt schedule { state nextRunAt } versions(first: 10) { nodes { id number storageUri sha256 size secrets createdAt } } } }
      agents(first: 10) { nodes { id name labels concurrency createdAt } }
      serviceTokens(includeRevoked: true, first: 10) { nodes { id name role revokedAt } }
      secrets { name updatedAt updatedBy }
      concurrencyLimits { scope limit updatedAt updatedBy }
      dataTables(first: 10) { nodes { dataset table kind lastWrite { id } partitions(first: 10) { partition lastWrite { id } } } }
    }`)),
    ok(api.post(admin, `query ($id: ID!) { flowRun(id: $id) {
      id state stateReason stateMessage version attempt parameters labels priority startedAt endedAt
      stateHistory { fromState toState reason actor at }
      logs(first: 100) { nodes { id message } }
      taskRuns { id key state attempts }
      materializations { id kind dataset table partitions uri recordedAt }
    } }`, run)),
    ok(api.post(admin, `query ($id: ID!) { flowRun(id: $id) { taskRuns { stateHistory { toState actor at } } } }`, run)),
    ok(api.post(admin, `{ flowRuns(first: 100) { nodes { id version } } }`)),
  ]);
}

// ---- arguments, generated from the argument types ----

type Mode = 'real' | 'random';

/** A random value shaped like `value` (same length, same alphabet), for the "does not exist" call. */
function lookalike(value: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(value)) return newId();
  if (/^[0-9a-f]{64}$/.test(value)) return randomBytes(32).toString('hex');
  const alphabet = /^[A-Z0-9_]+$/.test(value) ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : /^[a-z0-9-]+$/.test(value) ? 'abcdefghijklmnopqrstuvwxyz' : null;
  if (alphabet === null) return newToken().slice(0, value.length);
  return Array.from(randomBytes(value.length), (byte, i) => (i === 0 || /[A-Za-z]/.test(value[i]!) ? alphabet[byte % alphabet.length] : value[i])).join('');
}

/** Values that name B's objects without being IDs: sent as B's, or as look-alikes that name nothing. */
const identifiers: Record<string, (tenant: TenantB) => string> = {
  'Query.flows.project': (t) => t.project,
  'Query.flow.project': (t) => t.project,
  'Query.flow.name': (t) => t.flowName,
  'CreateFlowRunInput.project': (t) => t.project,
  'CreateFlowRunInput.flowName': (t) => t.flowName,
  'RegisterFlowInput.project': (t) => t.project,
  'RegisterFlowInput.name': (t) => t.flowName,
  'RegisterAgentInput.name': (t) => t.agentName,
  'MoveAgentInput.name': (t) => t.agentName,
  'CreateServiceTokenInput.name': (t) => t.tokenName,
  'SetSecretInput.name': (t) => t.secretName,
  'Mutation.deleteSecret.name': (t) => t.secretName,
  'CreateNotificationRuleInput.project': (t) => t.project,
  'CreateNotificationRuleInput.flowName': (t) => t.flowName,
  'CreateNotificationRuleInput.signingSecret': (t) => t.secretName,
  'Mutation.pauseSchedule.project': (t) => t.project,
  'Mutation.pauseSchedule.flowName': (t) => t.flowName,
  'Mutation.resumeSchedule.project': (t) => t.project,
  'Mutation.resumeSchedule.flowName': (t) => t.flowName,
  'BackfillInput.project': (t) => t.project,
  'BackfillInput.flowName': (t) => t.flowName,
  'Query.schedules.project': (t) => t.project,
  'Query.knownBundles.sha256': () => B_BUNDLE,
  'AuditEventFilter.subject': () => 'developer@matrix',
  'SetFlowRunStateInput.leaseToken': (t) => t.leaseToken,
  'SetTaskRunStatesInput.leaseToken': (t) => t.leaseToken,
  'WriteLogsInput.leaseToken': (t) => t.leaseToken,
  'RecordMaterializationsInput.leaseToken': (t) => t.leaseToken,
  'Query.dataTables.dataset': (t) => t.dataset,
  'Query.dataTable.dataset': (t) => t.dataset,
  'Query.dataTable.table': (t) => t.table,
  'LeaseInput.leaseToken': (t) => t.leaseToken,
};

/** Valid values for other required arguments (the same in both calls). */
const fixed: Record<string, (tenant: TenantB) => unknown> = {
  'RegisterFlowInput.storageUri': () => 'file:///bundles/matrix.mjs',
  'RegisterFlowInput.sha256': () => 'c'.repeat(64),
  'RegisterFlowInput.size': () => 100,
  'RegisterFlowInput.entrypoint': () => 'flow',
  'SetSecretInput.value': () => 'tenant-a-value',
  'CreateNotificationRuleInput.url': () => 'https://hooks.example.org/tenant-a',
  'WriteLogsInput.batchId': () => 'matrix-batch',
  'RecordMaterializationsInput.batchId': () => 'matrix-batch',
  'RunBatchInput.batchId': () => 'matrix-batch',
  'LateRunEntriesInput.batchId': () => 'matrix-batch',
  // A's own names: recording is refused before names matter (B's lease is not A's), reading B's names is above.
  'MaterializationInput.dataset': () => 'matrixdata',
  'MaterializationInput.table': () => 'matrixtable',
  'MaterializationInput.partitions': () => ['ano=2010'],
  'MaterializationInput.uri': () => 'file:///lake/staging/matrixdata/matrixtable',
  'LogLineInput.stream': () => 'logger',
  'LogLineInput.message': () => 'written by tenant a',
  'TaskRunStateInput.key': () => 'extract#1',
  'TaskRunStateInput.taskName': () => 'extract',
  'TaskRunStateInput.state': () => 'SUCCESS',
  'SetFlowRunStateInput.state': () => 'SUCCESS',
  'SetFlowRunStateInput.expectedVersion': (t) => t.runVersion,
  'ClaimFlowRunsInput.max': () => 10,
  'CreateServiceTokenInput.role': () => 'VIEWER',
  'RegisterAgentInput.labels': () => [],
  'MoveAgentInput.toSubject': () => 'service:matrix-mover',
  'Subscription.flowRunLogs.after': () => undefined,
  // A scope is a value, not one of B's objects: A setting or deleting `label:matrix` acts on A's own.
  'Mutation.setConcurrencyLimit.scope': () => 'label:matrix',
  'Mutation.deleteConcurrencyLimit.scope': () => 'label:matrix',
  'TaskResultInput.uri': () => 'file:///results/matrix.json',
  'TaskResultInput.sha256': () => 'd'.repeat(64),
  'TaskResultInput.size': () => 10,
  'BackfillInput.from': () => '2026-01-01T00:00:00Z',
  'BackfillInput.to': () => '2026-01-08T00:00:00Z',
};

/** Root `id` arguments whose return type does not name the object. */
const idOverrides: Record<string, keyof TenantB['ids']> = {
  'Subscription.flowRunStateChanged.id': 'FlowRun',
  'Subscription.flowRunLogs.id': 'FlowRun',
  'Mutation.deleteNotificationRule.id': 'NotificationRule',
};

class CannotExercise extends Error {}

interface Values {
  real: Map<string, string>;
  /** Every value each call used, to normalise the answers. */
  used: string[];
}

function idFor(path: string, rootReturn: GraphQLOutputType | null, mode: Mode, values: Values): string {
  const name = path.split('.').at(-1)!;
  let target = idOverrides[path] as string | undefined;
  if (!target && name.endsWith('Id')) target = name[0]!.toUpperCase() + name.slice(1, -2);
  if (!target && name === 'id' && rootReturn) target = getNamedType(rootReturn).name;
  const real = target ? b.ids[target as keyof TenantB['ids']] : undefined;
  if (!real) throw new CannotExercise(`${path}: no object of tenant B to send as ${target ?? 'this ID'}; add one to buildTenantB or idOverrides`);
  return pick(path, real, mode, values);
}

/** B's value in the real call; a look-alike, fixed per path, in the random one. */
function pick(path: string, real: string, mode: Mode, values: Values): string {
  let value = real;
  if (mode === 'random') {
    value = values.real.get(path) ?? lookalike(real);
    values.real.set(path, value);
  }
  values.used.push(value);
  return value;
}

function valueFor(type: GraphQLInputType, path: string, mode: Mode, values: Values, rootReturn: GraphQLOutputType | null): unknown {
  if (identifiers[path]) return pick(path, identifiers[path]!(b), mode, values);
  if (fixed[path]) return fixed[path]!(b);
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return [valueFor(inner.ofType, path, mode, values, rootReturn)];
  if (isInputObjectType(inner)) {
    const object: Record<string, unknown> = {};
    for (const field of Object.values(inner.getFields())) {
      const fieldPath = `${inner.name}.${field.name}`;
      if (!wanted(field.type, fieldPath)) continue;
      const value = valueFor(field.type, fieldPath, mode, values, null);
      if (value !== undefined) object[field.name] = value;
    }
    return object;
  }
  if (isEnumType(inner)) return inner.getValues()[0]!.value;
  if (isScalarType(inner)) {
    switch (inner.name) {
      case 'ID':
        return idFor(path, rootReturn, mode, values);
      case 'Int':
        return path.endsWith('.first') ? 2 : 1;
      case 'Boolean':
        return false;
      case 'DateTime':
        return new Date().toISOString();
      case 'JSON':
        return {};
    }
  }
  throw new CannotExercise(`${path}: no valid value for a required ${String(type)}; add it to the fixed table`);
}

/** Required arguments, and optional ones that point at objects (IDs, names, page sizes). */
function wanted(type: GraphQLInputType, path: string): boolean {
  if (isNonNullType(type)) return true;
  const named = getNamedType(type);
  return named.name === 'ID' || path in identifiers || path in fixed || path.endsWith('.first') || (isInputObjectType(named) && Object.values(named.getFields()).some((f) => wanted(f.type, `${named.name}.${f.name}`)));
}

function argumentsFor(root: string, field: GraphQLField<unknown, unknown>, mode: Mode, values: Values): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const arg of field.args as readonly GraphQLArgument[]) {
    const path = `${root}.${field.name}.${arg.name}`;
    if (!wanted(arg.type, path)) continue;
    const value = valueFor(arg.type, path, mode, values, field.type);
    if (value !== undefined) args[arg.name] = value;
  }
  return args;
}

// ---- the operation document: every field the role may read, two levels down ----

function selectionOf(type: GraphQLOutputType, role: Role, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  const object = named as GraphQLObjectType;
  const parts: string[] = [];
  for (const field of Object.values(object.getFields())) {
    if (!rolesOf(fieldPermissions[object.name]![field.name]!).includes(role)) continue;
    if (field.args.some((a) => isNonNullType(a.type))) continue;
    const pageArgs = field.args.some((a) => a.name === 'first') ? '(first: 2)' : '';
    if (isLeafType(getNamedType(field.type))) parts.push(`${field.name}${pageArgs}`);
    else if (depth > 0) {
      const inner = selectionOf(field.type, role, depth - 1);
      if (inner) parts.push(`${field.name}${pageArgs} ${inner}`);
    }
  }
  return parts.length ? `{ ${parts.join(' ')} }` : '';
}

function operationFor(root: string, field: GraphQLField<unknown, unknown>, role: Role, args: Record<string, unknown>): { query: string; variables: Record<string, unknown> } {
  const declared = (field.args as readonly GraphQLArgument[]).filter((a) => a.name in args);
  const variables = declared.length ? `(${declared.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})` : '';
  const passed = declared.length ? `(${declared.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
  // A role that may read nothing of the result still gets a valid document: `__typename`.
  const selection = isLeafType(getNamedType(field.type)) ? '' : selectionOf(field.type, role, 1) || '{ __typename }';
  return { query: `${root.toLowerCase()} Matrix${variables} { ${field.name}${passed} ${selection} }`, variables: args };
}

async function call(root: string, role: Role, tenant: string, document: { query: string; variables: Record<string, unknown> }): Promise<Answer> {
  const identity = as(role, tenant);
  return root === 'Subscription' ? api.overWebSocket(identity, document.query, document.variables) : api.post(identity, document.query, document.variables);
}

/** The answer with the values the call sent, tenants, ids, times and tokens replaced by placeholders. */
function normalised(answer: Answer, used: string[]): unknown {
  let text = JSON.stringify({ data: answer.data ?? null, errors: answer.errors ?? [] });
  for (const value of [...used].sort((x, y) => y.length - x.length)) text = text.split(value).join('<sent>');
  text = text
    .replace(/fxs_[A-Za-z0-9_-]+/g, '<token>')
    .replace(/tenant-a-\d+/g, '<tenant>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>');
  return JSON.parse(text);
}

/** The roles table of docs/security.md: operation → roles marked allowed. */
async function documentedRoles(): Promise<Map<string, Set<Role>>> {
  const doc = await readFile(join(repoRoot, 'docs', 'security.md'), 'utf8');
  const block = /<!-- operations-table:start -->([\s\S]*?)<!-- operations-table:end -->/.exec(doc)?.[1] ?? '';
  const lines = block.trim().split('\n').filter((line) => line.startsWith('|'));
  const header = lines[0]!.split('|').slice(2, -1).map((cell) => cell.trim().replace(/`/g, '') as Role);
  const table = new Map<string, Set<Role>>();
  for (const line of lines.slice(2)) {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const operation = /`(\w+)\.(\w+)`/.exec(cells[0]!);
    if (!operation) continue;
    table.set(`${operation[1]}.${operation[2]}`, new Set(header.filter((_, i) => cells[i + 1] === '✓')));
  }
  return table;
}

beforeAll(async () => {
  api = await startTestServer({ leaseMs: 3_600_000, secretsKeyring: { current: 1, keys: new Map([[1, new Uint8Array(randomBytes(32))]]) } });
  b = await buildTenantB();
});

describe('another tenant\'s objects answer exactly like objects that do not exist', () => {
  it.each(rootFields.map(({ root, field }) => [`${root}.${field.name}`, root, field] as const))('%s', async (coordinate, root, field) => {
    const before = await snapshotOfB();
    const callers = rolesOf(fieldPermissions[root]![field.name]!).filter((role) => !(role === 'admin' && acrossTenantsForAdmin.has(coordinate)));
    // Only an operation an admin uses across tenants by design may have no caller to compare.
    if (callers.length === 0) return expect(acrossTenantsForAdmin.has(coordinate), `${coordinate} has no role to call it with`).toBe(true);
    for (const role of callers) {
      const values: Record<Mode, Values> = { real: { real: new Map(), used: [] }, random: { real: new Map(), used: [] } };
      const realArgs = argumentsFor(root, field, 'real', values.real);
      const randomArgs = argumentsFor(root, field, 'random', values.random);
      const real = await call(root, role, freshTenant(), operationFor(root, field, role, realArgs));
      const random = await call(root, role, freshTenant(), operationFor(root, field, role, randomArgs));
      // The generator must build valid calls, or the comparison says nothing.
      expect(codesOf(real), `${coordinate} as ${role}: ${JSON.stringify(real.errors)}`).not.toContain('GRAPHQL_VALIDATION_FAILED');
      expect(codesOf(real), `${coordinate} as ${role}`).not.toContain('BAD_USER_INPUT');
      expect(codesOf(real), `${coordinate} as ${role}`).not.toContain('INTERNAL_SERVER_ERROR');
      expect(codesOf(real), `${coordinate} as ${role}`).not.toContain('FORBIDDEN');
      expect(normalised(real, values.real.used), `${coordinate} as ${role} with B's values vs. look-alikes`).toEqual(normalised(random, values.random.used));
    }
    expect(await snapshotOfB(), `${coordinate} changed tenant B`).toEqual(before);
  });

  it('still shows tenant B its own objects (the ids the matrix sends are real)', async () => {
    const answer = await api.post(as('viewer', B), `query ($run: ID!, $version: ID!, $flow: ID!) {
      flowRun(id: $run) { id logs { nodes { message } } } flowVersion(id: $version) { id } flow(id: $flow) { id }
    }`, { run: b.ids.FlowRun, version: b.ids.FlowVersion, flow: b.ids.Flow });
    expect(answer.data).toEqual({
      flowRun: { id: b.ids.FlowRun, logs: { nodes: [{ message: 'tenant b only' }] } },
      flowVersion: { id: b.ids.FlowVersion },
      flow: { id: b.ids.Flow },
    });
    const table = await api.post(as('viewer', B), `query ($d: String!, $t: String!) { dataTable(dataset: $d, table: $t, kind: LAKE) { table lastWrite { flowRun { id } } } }`,
      { d: b.dataset, t: b.table });
    expect(table.data).toEqual({ dataTable: { table: b.table, lastWrite: { flowRun: { id: b.ids.FlowRun } } } });
    const held = await api.post(as('agent', B), `query ($id: ID!) { flowRun(id: $id) { id state } }`, { id: b.ids.FlowRun });
    expect(held.data).toEqual({ flowRun: { id: b.ids.FlowRun, state: 'RUNNING' } });
  });
});

describe('who may call what', () => {
  let documented: Map<string, Set<Role>>;
  beforeAll(async () => {
    documented = await documentedRoles();
  });

  it('documents every root field of the schema in docs/security.md', () => {
    expect([...documented.keys()].sort()).toEqual(rootFields.map(({ root, field }) => `${root}.${field.name}`).sort());
  });

  it.each(rootFields.map(({ root, field }) => [`${root}.${field.name}`, root, field] as const))('%s: allowed exactly for the roles docs/security.md lists', async (coordinate, root, field) => {
    const allowed = documented.get(coordinate);
    expect(allowed, `${coordinate} is missing from docs/security.md`).toBeDefined();
    for (const role of roles) {
      const values: Values = { real: new Map(), used: [] };
      const answer = await call(root, role, freshTenant(), operationFor(root, field, role, argumentsFor(root, field, 'random', values)));
      const refused = answer.errors?.some((e) => e.extensions?.code === 'FORBIDDEN' && (e as { path?: unknown[] }).path?.length === 1) ?? false;
      if (allowed!.has(role)) expect(refused, `${coordinate} as ${role}: ${JSON.stringify(answer.errors)}`).toBe(false);
      else {
        expect(codesOf(answer), `${coordinate} as ${role}`).toEqual(['FORBIDDEN']);
        expect(answer.errors![0]!.message).toMatch(new RegExp(`^role "${role}" may not call ${root}\\.${field.name} \\(allowed: `));
      }
    }
  });
});

it('exercises every root field of the schema (a new one needs values in this generator)', () => {
  for (const { root, field } of rootFields) {
    for (const mode of ['real', 'random'] as const) expect(() => argumentsFor(root, field, mode, { real: new Map(), used: [] }), `${root}.${field.name}`).not.toThrow();
  }
});
