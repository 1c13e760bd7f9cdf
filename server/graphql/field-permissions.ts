// Field-level authorization: who may resolve each field of each object type. A nested field does
// not inherit what its parent allowed (a viewer's run does not make its logs readable to an agent),
// so every field of the schema has an entry here, and `guardFields` refuses to build a schema with
// a field that has none: a field added later cannot slip through unchecked.
import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { FluxoError } from '../../common/errors.js';
import { roles, type Role } from '../../common/identity.js';
import { permissions, type Permission } from '../core/authorize.js';
import type { GraphQLContext } from './context.js';

/**
 * Grants an object that an operation of this permission returned in the same request: how an
 * agent reads the run it just claimed, and CI the version it just registered, without being
 * able to read runs or versions in general.
 */
export interface Handed {
  handedBy: Permission;
}

/**
 * Who may resolve a field: a role with the permission (authorize.ts), `'anyone'` verified, or
 * (`Handed`) a caller to whom an operation of that permission returned the parent object.
 */
export type FieldAccess = Permission | 'anyone' | Handed;

/** Objects returned under these permissions are handed to the caller: it may read them although its role cannot read in general. */
const handingPermissions: ReadonlySet<Permission> = new Set(['agentWork', 'registerFlow']);

const handedToAgent: Handed = { handedBy: 'agentWork' };
const handedToRegistrar: Handed = { handedBy: 'registerFlow' };

const read = ['read'] as const;
const readOrHandedToAgent = ['read', handedToAgent] as const;
const readOrHandedToRegistrar = ['read', handedToRegistrar] as const;
const readOrHanded = ['read', handedToAgent, handedToRegistrar] as const;
const agentWork = ['agentWork'] as const;

/** Every field of every object type in schema/fluxo.graphql, with who may resolve it. */
export const fieldPermissions: Record<string, Record<string, readonly FieldAccess[]>> = {
  Query: {
    viewer: ['anyone'],
    projects: read,
    flows: read,
    flow: read,
    flowVersion: read,
    flowRuns: read,
    // Agents too, for a run they hold a lease on: the resolver answers null for any other.
    flowRun: ['read', 'agentWork'],
    agents: read,
    serviceTokens: ['manageServiceTokens'],
    secrets: ['listSecrets'],
    auditEvents: ['readAuditLog'],
    tenants: ['listTenants'],
    schedules: read,
    knownBundles: ['registerFlow'],
    concurrencyLimits: read,
    notificationRules: ['manageNotifications'],
    notificationDeliveries: ['manageNotifications'],
    dataTables: read,
    dataTable: read,
  },
  Mutation: {
    registerFlow: ['registerFlow'],
    registerFlows: ['registerFlow'],
    pauseSchedule: ['manageSchedules'],
    resumeSchedule: ['manageSchedules'],
    backfillFlowRuns: ['createFlowRun'],
    restartFlowRun: ['createFlowRun'],
    rerunFlowRun: ['createFlowRun'],
    setConcurrencyLimit: ['manageLimits'],
    deleteConcurrencyLimit: ['manageLimits'],
    createNotificationRule: ['manageNotifications'],
    deleteNotificationRule: ['manageNotifications'],
    createFlowRun: ['createFlowRun'],
    cancelFlowRun: ['cancelFlowRun'],
    registerAgent: agentWork,
    claimFlowRuns: agentWork,
    setFlowRunState: agentWork,
    setTaskRunStates: agentWork,
    writeLogs: agentWork,
    recordMaterializations: agentWork,
    deliverLateRunEntries: agentWork,
    heartbeat: agentWork,
    createServiceToken: ['manageServiceTokens'],
    revokeServiceToken: ['manageServiceTokens'],
    moveAgent: ['manageAgents'],
    setSecret: ['manageSecrets'],
    deleteSecret: ['manageSecrets'],
  },
  Subscription: {
    flowRunStateChanged: read,
    flowRunLogs: read,
    leaseSignals: agentWork,
  },
  LeaseSignal: { flowRunId: agentWork, kind: agentWork },
  // Reached only from `viewer` and through a connection whose own fields are checked.
  Identity: { subject: ['anyone'], tenant: ['anyone'], role: ['anyone'], kind: ['anyone'] },
  PageInfo: { endCursor: ['anyone'], hasNextPage: ['anyone'] },
  Project: { id: read, name: read, createdAt: read },
  Flow: { id: read, project: read, name: read, createdAt: read, latestVersion: read, versions: read, schedule: read },
  FlowSchedule: { flow: read, state: read, clocks: read, missedRuns: read, catchUpLimit: read, nextRunAt: read, stateChangedAt: read, stateChangedBy: read },
  FlowScheduleConnection: { nodes: read, pageInfo: read },
  // A version's clocks: CI reads back what it registered, like the rest of the version.
  Clock: {
    key: readOrHandedToRegistrar,
    index: readOrHandedToRegistrar,
    cron: readOrHandedToRegistrar,
    timezone: readOrHandedToRegistrar,
    everySeconds: readOrHandedToRegistrar,
    anchor: readOrHandedToRegistrar,
    parameters: readOrHandedToRegistrar,
    labels: readOrHandedToRegistrar,
    nextTimes: readOrHandedToRegistrar,
  },
  // An agent reads what it needs to fetch, verify and run the bundle of a run it holds; CI what
  // it registered. Neither may go on to the flow (and from there to every version).
  FlowVersion: {
    id: readOrHanded,
    flow: read,
    number: readOrHandedToRegistrar,
    contentHash: readOrHandedToRegistrar,
    storageUri: readOrHanded,
    sha256: readOrHanded,
    size: readOrHanded,
    entrypoint: readOrHanded,
    parameterSchema: readOrHandedToRegistrar,
    defaultLabels: readOrHandedToRegistrar,
    secrets: readOrHanded,
    retries: readOrHandedToRegistrar,
    retryDelaySeconds: readOrHandedToRegistrar,
    timeoutSeconds: readOrHanded,
    description: readOrHandedToRegistrar,
    clocks: readOrHandedToRegistrar,
    missedRuns: readOrHandedToRegistrar,
    catchUpLimit: readOrHandedToRegistrar,
    concurrencyLimit: readOrHandedToRegistrar,
    whenConcurrencyFull: readOrHandedToRegistrar,
    createdAt: readOrHandedToRegistrar,
  },
  FlowConnection: { nodes: read, pageInfo: read },
  FlowVersionConnection: { nodes: read, pageInfo: read },
  // What agent/agent-api.ts reads of a claimed run, a state write's answer and flowRun(id).
  FlowRun: {
    id: readOrHandedToAgent,
    flow: read,
    flowVersion: readOrHandedToAgent,
    state: readOrHandedToAgent,
    stateReason: read,
    stateMessage: read,
    version: readOrHandedToAgent,
    attempt: readOrHandedToAgent,
    parameters: readOrHandedToAgent,
    labels: read,
    priority: read,
    idempotencyKey: read,
    scheduledAt: read,
    createdAt: read,
    startedAt: read,
    endedAt: read,
    exitCode: read,
    signal: read,
    agent: read,
    waitReason: read,
    wait: read,
    rerunOf: read,
    taskRuns: read,
    stateHistory: read,
    logs: read,
    materializations: read,
  },
  FlowRunConnection: { nodes: read, pageInfo: read },
  TaskRun: {
    id: read, key: read, taskName: read, mapIndex: read, state: read, stateMessage: read, attempts: read, startedAt: read, endedAt: read, stateHistory: read, result: read, inputsHash: read,
  },
  TaskResult: { uri: read, sha256: read, size: read },
  WaitCause: { kind: read, message: read, limitScope: read, running: read, limit: read, agents: read },
  ConcurrencyLimit: { scope: read, limit: read, running: read, updatedAt: read, updatedBy: read },
  NotificationRule: {
    id: ['manageNotifications'],
    flow: ['manageNotifications'],
    on: ['manageNotifications'],
    channel: ['manageNotifications'],
    target: ['manageNotifications'],
    signingSecret: ['manageNotifications'],
    createdAt: ['manageNotifications'],
    createdBy: ['manageNotifications'],
  },
  NotificationDelivery: {
    id: ['manageNotifications'],
    rule: ['manageNotifications'],
    event: ['manageNotifications'],
    flowRun: ['manageNotifications'],
    state: ['manageNotifications'],
    attempts: ['manageNotifications'],
    lastError: ['manageNotifications'],
    createdAt: ['manageNotifications'],
    deliveredAt: ['manageNotifications'],
    nextAttemptAt: ['manageNotifications'],
  },
  NotificationDeliveryConnection: { nodes: ['manageNotifications'], pageInfo: ['manageNotifications'] },
  StateTransition: { fromState: read, toState: read, reason: read, message: read, actor: read, attempt: read, at: read, late: read },
  LogLine: { id: read, flowRunId: read, taskRunKey: read, level: read, stream: read, message: read, timestamp: read, late: read },
  LogConnection: { nodes: read, pageInfo: read },
  // An agent reads back the record `registerAgent` returned to it, never the tenant's agent list.
  Agent: {
    id: readOrHandedToAgent, name: readOrHandedToAgent, labels: readOrHandedToAgent, concurrency: readOrHandedToAgent, lastSeenAt: readOrHandedToAgent, online: readOrHandedToAgent, createdAt: readOrHandedToAgent,
  },
  AgentConnection: { nodes: read, pageInfo: read },
  RegisterFlowPayload: { flowVersion: [handedToRegistrar], created: [handedToRegistrar] },
  RegisterFlowsItem: { project: [handedToRegistrar], name: [handedToRegistrar], flowVersion: [handedToRegistrar], created: [handedToRegistrar], error: [handedToRegistrar] },
  ItemError: { code: [handedToRegistrar], message: [handedToRegistrar] },
  KnownBundle: { sha256: [handedToRegistrar], storageUri: [handedToRegistrar] },
  BackfillPayload: { total: ['createFlowRun'], created: ['createFlowRun'], existing: ['createFlowRun'], nextFrom: ['createFlowRun'], flowRuns: ['createFlowRun'] },
  ClaimedFlowRun: { flowRun: [handedToAgent], leaseToken: [handedToAgent], leaseExpiresAt: [handedToAgent], leaseSeconds: [handedToAgent], secrets: [handedToAgent], storedResults: [handedToAgent], outputKey: [handedToAgent] },
  // Lineage (fluxo/data): what runs wrote, for anyone who may read runs.
  Materialization: { id: read, flowRun: read, attempt: read, taskRunKey: read, kind: read, dataset: read, table: read, partitions: read, rows: read, bytes: read, uri: read, mode: read, recordedAt: read },
  DataTable: { dataset: read, table: read, kind: read, lastWrite: read, partitions: read, history: read },
  DataPartition: { partition: read, lastWrite: read },
  DataTableConnection: { nodes: read, pageInfo: read },
  StoredTaskResult: { taskKey: [handedToAgent], inputsHash: [handedToAgent], uri: [handedToAgent], sha256: [handedToAgent], size: [handedToAgent] },
  SecretValue: { name: [handedToAgent], value: [handedToAgent] },
  HeartbeatPayload: { renewed: [handedToAgent], lost: [handedToAgent], cancelling: [handedToAgent], leaseExpiresAt: [handedToAgent], leaseSeconds: [handedToAgent] },
  ServiceToken: {
    id: ['manageServiceTokens'],
    name: ['manageServiceTokens'],
    role: ['manageServiceTokens'],
    kind: ['manageServiceTokens'],
    subject: ['manageServiceTokens'],
    labels: ['manageServiceTokens'],
    createdAt: ['manageServiceTokens'],
    createdBy: ['manageServiceTokens'],
    expiresAt: ['manageServiceTokens'],
    revokedAt: ['manageServiceTokens'],
    revokedBy: ['manageServiceTokens'],
  },
  ServiceTokenConnection: { nodes: ['manageServiceTokens'], pageInfo: ['manageServiceTokens'] },
  CreateServiceTokenPayload: { serviceToken: ['manageServiceTokens'], token: ['manageServiceTokens'] },
  TenantSecret: { name: ['listSecrets'], createdAt: ['listSecrets'], updatedAt: ['listSecrets'], updatedBy: ['listSecrets'] },
  AuditEvent: {
    id: ['readAuditLog'],
    at: ['readAuditLog'],
    tenant: ['readAuditLog'],
    subject: ['readAuditLog'],
    role: ['readAuditLog'],
    action: ['readAuditLog'],
    requestId: ['readAuditLog'],
    outcome: ['readAuditLog'],
    code: ['readAuditLog'],
    detail: ['readAuditLog'],
  },
  AuditEventConnection: { nodes: ['readAuditLog'], pageInfo: ['readAuditLog'] },
  FlowRunStateEvent: { flowRun: read },
};

/**
 * The roles `access` admits, counting a handed object for the roles of the permission that hands
 * it (the agent, for what its claim returned).
 *
 * @example rolesOf(fieldPermissions.Query.flowRun) // ['admin', 'tenant-admin', 'developer', 'viewer', 'agent']
 */
export function rolesOf(access: readonly FieldAccess[]): Role[] {
  const admits = (a: FieldAccess, role: Role): boolean =>
    a === 'anyone' || (permissions[typeof a === 'string' ? a : a.handedBy] as readonly Role[]).includes(role);
  return roles.filter((role) => access.some((a) => admits(a, role)));
}

// Per request (the context object), the objects handed to the caller and the permission that
// handed them. Weak on both sides: nothing outlives the request.
const handedObjects = new WeakMap<object, WeakMap<object, Permission>>();

function handOver(context: object, value: unknown, permission: Permission): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) handOver(context, item, permission);
    return;
  }
  let handed = handedObjects.get(context);
  if (!handed) handedObjects.set(context, (handed = new WeakMap()));
  handed.set(value, permission);
}

function handedWith(context: object, source: unknown): Permission | undefined {
  return source !== null && typeof source === 'object' ? handedObjects.get(context)?.get(source) : undefined;
}

/** What a role may do with a field: admitted, and whether the results are handed on. */
type Admission = { admitted: true; hands: Permission | null } | { admitted: false };

interface FieldRule {
  /** Per role admitted by its permissions: the permission to hand results under, or null. */
  byRole: ReadonlyMap<Role, Permission | null>;
  handed: readonly Permission[];
  refusal: (role: Role) => string;
}

function ruleOf(typeName: string, fieldName: string, access: readonly FieldAccess[], root: boolean): FieldRule {
  const coordinate = `${typeName}.${fieldName}`;
  const byRole = new Map<Role, Permission | null>();
  for (const a of access) {
    if (typeof a !== 'string' || a === 'anyone') continue;
    for (const role of permissions[a]) if (!byRole.has(role)) byRole.set(role, handingPermissions.has(a) ? a : null);
  }
  const handed = access.filter((a): a is Handed => typeof a === 'object').map((a) => a.handedBy);
  const verb = root ? 'call' : 'read';
  return {
    byRole,
    handed,
    refusal: (role) =>
      handed.some((p) => (permissions[p] as readonly Role[]).includes(role))
        ? `role "${role}" may read ${coordinate} only on what its own operations returned to it in this request (${handed.join(', ')})`
        : `role "${role}" may not ${verb} ${coordinate} (allowed: ${rolesOf(access).join(', ')})`,
  };
}

function admit(rule: FieldRule, role: Role, context: object, source: unknown): Admission {
  const viaRole = rule.byRole.get(role);
  if (viaRole !== undefined) return { admitted: true, hands: viaRole };
  if (rule.handed.length > 0) {
    const permission = handedWith(context, source);
    if (permission !== undefined && rule.handed.includes(permission)) return { admitted: true, hands: permission };
  }
  return { admitted: false };
}

function guard<TArgs>(rule: FieldRule, resolve: GraphQLFieldResolver<unknown, GraphQLContext, TArgs>): GraphQLFieldResolver<unknown, GraphQLContext, TArgs> {
  return (source, args, context, info) => {
    const admission = admit(rule, context.identity.role, context, source);
    if (!admission.admitted) throw new FluxoError('FORBIDDEN', rule.refusal(context.identity.role));
    const result = resolve(source, args, context, info);
    const hands = admission.hands;
    if (hands === null) return result;
    if (result instanceof Promise) return result.then((value: unknown) => (handOver(context, value, hands), value));
    handOver(context, result, hands);
    return result;
  };
}

/**
 * Wraps every field's resolver (and subscribe) of `schema` in its check from
 * {@link fieldPermissions}, in place. Throws TypeError when a field of the schema has no entry, or
 * an entry names no field of the schema, so the server cannot start with an unchecked field.
 *
 * @example const schema = guardFields(makeExecutableSchema({ typeDefs, resolvers }))
 */
export function guardFields(schema: GraphQLSchema): GraphQLSchema {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((t) => t?.name));
  const seen = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const entries = fieldPermissions[type.name];
    for (const field of Object.values(type.getFields())) {
      const access = entries?.[field.name];
      if (!access) throw new TypeError(`${type.name}.${field.name} has no entry in fieldPermissions (server/graphql/field-permissions.ts)`);
      seen.add(`${type.name}.${field.name}`);
      // Whoever reached the parent may read these; wrapping them would only cost time.
      if (access.length === 1 && access[0] === 'anyone') continue;
      const rule = ruleOf(type.name, field.name, access, roots.has(type.name));
      field.resolve = guard(rule, field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guard(rule, field.subscribe);
    }
  }
  const stale = Object.entries(fieldPermissions).flatMap(([type, fields]) => Object.keys(fields).map((f) => `${type}.${f}`)).filter((c) => !seen.has(c));
  if (stale.length > 0) throw new TypeError(`fieldPermissions names fields the schema does not have: ${stale.join(', ')}`);
  return schema;
}
