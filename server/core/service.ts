// The server's core and its single door, free of transports. Every operation a transport needs —
// writes, reads, subscriptions — is `service.<op>(identity, args)` or the same on a sub-service
// this holds (flows, runs, agents, schedules, secrets, notifications, limits, lineage, audit,
// serviceTokens). Each checks the role, validates input, calls the store scoped by the identity's
// tenant, and publishes events for long-polls and subscriptions; subscriptions are async iterators
// ended by an abort signal. GraphQL resolvers only map arguments and records and never touch
// `store` (scripts/check-boundaries.mjs); leader services (server/services/) use it directly.
import { createHash } from 'node:crypto';
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { AgentRecord, FlowRecord, FlowRunRecord, FlowVersionRecord, LogRecord } from '../store/records.js';
import type { Claim, HeartbeatResult, LogLineWrite, Store, TaskStateWrite } from '../store/store.js';
import { agentNameTaken, agentNotFound, checkSubject } from './agent-names.js';
import { checkTaskState, clipLogLines } from './agent-entries.js';
import { actorOf, authorize } from './authorize.js';
import { EventBus } from './events.js';
import { concurrencySettings, type ConcurrencyArgs } from './limits.js';
import { hashedScheduleSettings, scheduleSettings, Schedules, wakeScheduler, type ScheduleArgs } from './schedules.js';
import { checkParameterSchema, validateParameters } from './parameters.js';
import type { FlowRunStateType } from '../store/records.js';
import { LeaseBinding } from './lease-binding.js';
import { LogIds } from './log-ids.js';
import { leasedStates } from './transitions.js';
import { checkInt, checkLabels, checkName, checkOptionalInt, checkSecretNames, checkStoragePlace, checkStorageUri, checkString, parseDateTime } from './validate-input.js';
import { StorageRoots } from '../../storage/storage-location.js';
import { checkRunBatch, type RunBatchArgs } from './run-batch.js';
import { AgentReads } from './agent-reads.js';
import { AuditReads } from './audit-reads.js';
import { claimWork, type ClaimedWork } from './claim-work.js';
import { ConcurrencyLimits } from './concurrency-limits.js';
import { FlowReads } from './flow-reads.js';
import { Lineage } from './lineage-service.js';
import { Notifications } from './notifications.js';
import { knownBundles, registerFlows, type RegisterFlowsItem } from './register-flows.js';
import { rerunFlowRun, restartFlowRun } from './restart.js';
import { RunReads } from './run-reads.js';
import { TenantSecrets } from './secrets.js';
import { ServiceTokens } from './service-token-admin.js';
import { leaseSignals, type LeaseSignal } from './lease-signals.js';

export interface ServiceOptions {
  /** Lease length granted on claim and heartbeat. @default 30000 */
  leaseMs?: number;
  /** Longest long-poll a claim may ask for. @default 30000 */
  maxClaimWaitMs?: number;
  /** Key binding lease tokens to the subject that claimed them (lease-binding.ts). @default a key shared by this process */
  leaseKey?: Uint8Array;
  /** Where each tenant's bundles may live (`--storage-root`). @default unconfined: any canonical file:/// or gs:// URI */
  storageRoots?: StorageRoots;
  /** The zone of cron clocks that name none (`--timezone`); stored with each clock at registration. @default 'UTC' */
  timezone?: string;
  /** Tenant secrets, with the server's keyring (`--secrets-key`). @default secrets that can be listed but never opened (no key) */
  secrets?: TenantSecrets;
  /** Notification rules and deliveries, with the server's webhook settings. @default https receivers only, no signing secrets */
  notifications?: Notifications;
}

export interface RegisterFlowArgs extends ScheduleArgs, ConcurrencyArgs {
  project: string;
  name: string;
  storageUri: string;
  sha256: string;
  size: number;
  entrypoint: string;
  parameterSchema?: unknown;
  defaultLabels?: string[] | null | undefined;
  secrets?: string[] | null | undefined;
  retries?: number | null | undefined;
  retryDelaySeconds?: number | null | undefined;
  timeoutSeconds?: number | null | undefined;
  description?: string | null | undefined;
}

export interface CreateFlowRunArgs {
  flowId?: string | null | undefined;
  project?: string | null | undefined;
  flowName?: string | null | undefined;
  flowVersionId?: string | null | undefined;
  parameters?: unknown;
  labels?: string[] | null | undefined;
  priority?: number | null | undefined;
  scheduledAt?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}

const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
const DEFAULT_SCHEMA = { type: 'object', properties: {}, additionalProperties: false };

export class FluxoService {
  readonly store: Store;
  readonly events: EventBus;
  readonly leaseMs: number;
  readonly maxClaimWaitMs: number;
  readonly #leases: LeaseBinding;
  /** Log line ids as the API shows them (log-ids.ts). */
  readonly logIds: LogIds;
  readonly #storageRoots: StorageRoots;
  /** The zone of cron clocks that name none. */
  readonly timezone: string;
  /** Reading schedules, pausing and resuming them, backfills (schedules.ts). */
  readonly schedules: Schedules;
  /** Reading projects, flows and versions (flow-reads.ts). */
  readonly flows: FlowReads;
  /** Reading runs, their task runs, history and logs, and following them (run-reads.ts). */
  readonly runs: RunReads;
  /** Reading agents and whether they are online (agent-reads.ts). */
  readonly agents: AgentReads;
  /** Tenant secrets: names for users, values only in claim answers (secrets.ts). */
  readonly secrets: TenantSecrets;
  /** Notification rules and deliveries (notifications.ts). */
  readonly notifications: Notifications;
  /** Operators' tenant and label concurrency limits (concurrency-limits.ts). */
  readonly limits: ConcurrencyLimits;
  /** What runs wrote to the lake and the warehouse (lineage-service.ts). */
  readonly lineage: Lineage;
  /** Reading the audit log and the tenant list (audit-reads.ts). */
  readonly audit: AuditReads;
  /** Issuing, listing and revoking service tokens (service-token-admin.ts). */
  readonly serviceTokens: ServiceTokens;

  constructor(store: Store, events: EventBus, options: ServiceOptions = {}) {
    this.store = store;
    this.events = events;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxClaimWaitMs = options.maxClaimWaitMs ?? 30_000;
    this.#leases = new LeaseBinding(options.leaseKey);
    this.logIds = new LogIds(options.leaseKey);
    this.#storageRoots = options.storageRoots ?? StorageRoots.parse([]);
    this.timezone = options.timezone ?? 'UTC';
    this.schedules = new Schedules(store, events);
    this.flows = new FlowReads(store);
    this.runs = new RunReads({ store, events, logIds: this.logIds }, this.leaseMs);
    this.agents = new AgentReads(store, this.leaseMs);
    this.secrets = options.secrets ?? new TenantSecrets(store.secrets, null);
    this.notifications = options.notifications ?? new Notifications(store, { secretsAvailable: false });
    this.limits = new ConcurrencyLimits(store);
    this.lineage = new Lineage(this);
    this.audit = new AuditReads(store);
    this.serviceTokens = new ServiceTokens(store);
  }

  async registerFlow(identity: Identity, args: RegisterFlowArgs): Promise<{ version: FlowVersionRecord; created: boolean }> {
    authorize(identity, 'registerFlow');
    const project = checkName('project', args.project);
    const name = checkName('flow name', args.name);
    checkStorageUri(this.#storageRoots, identity.tenant, args.storageUri);
    await checkStoragePlace(this.#storageRoots, identity.tenant, args.storageUri);
    if (!/^[0-9a-f]{64}$/.test(args.sha256)) throw new FluxoError('BAD_USER_INPUT', 'sha256 must be 64 lowercase hex characters');
    const size = checkInt('size', args.size, 1, MAX_BUNDLE_BYTES, 0);
    if (!/^[A-Za-z_$][\w$]{0,99}$/.test(args.entrypoint)) throw new FluxoError('BAD_USER_INPUT', `entrypoint "${args.entrypoint.slice(0, 100)}" is not an export name`);
    const parameterSchema = (args.parameterSchema ?? DEFAULT_SCHEMA) as Record<string, unknown>;
    if (typeof parameterSchema !== 'object' || parameterSchema === null || Array.isArray(parameterSchema) || parameterSchema.type !== 'object') {
      throw new FluxoError('BAD_USER_INPUT', 'parameterSchema must be a JSON Schema object with "type": "object"');
    }
    await checkParameterSchema(identity.tenant, parameterSchema);
    const settings = {
      storageUri: args.storageUri,
      sha256: args.sha256,
      size,
      entrypoint: args.entrypoint,
      parameterSchema,
      defaultLabels: checkLabels('defaultLabels', args.defaultLabels ?? []),
      secrets: checkSecretNames(args.secrets ?? []),
      retries: checkInt('retries', args.retries, 0, 100, 0),
      retryDelaySeconds: checkInt('retryDelaySeconds', args.retryDelaySeconds, 0, 86_400, 10),
      timeoutSeconds: checkOptionalInt('timeoutSeconds', args.timeoutSeconds, 1, 7 * 86_400),
      description: args.description == null ? null : checkString('description', args.description, 10_000),
    };
    const schedule = await scheduleSettings(identity.tenant, parameterSchema, args, this.timezone);
    const concurrency = concurrencySettings(args);
    // The content hash covers the bundle and every declared setting except where it is stored:
    // re-uploading the same bytes elsewhere is not a new version. Schedule settings enter it only
    // when the version declares clocks, so versions registered before schedules keep their hash.
    const { storageUri: _uri, ...hashed } = settings;
    // A flow limit enters it only when set, so flows without one keep their hash.
    const hashedConcurrency = concurrency.concurrencyLimit === null ? {} : concurrency;
    const contentHash = createHash('sha256').update(JSON.stringify({ ...hashed, ...hashedScheduleSettings(schedule), ...hashedConcurrency })).digest('hex');
    const registered = await this.store.registerFlowVersion(identity.tenant, { project, name, contentHash, ...settings, ...schedule, ...concurrency });
    if (registered.created) wakeScheduler(this.events);
    return registered;
  }

  async createFlowRun(identity: Identity, args: CreateFlowRunArgs): Promise<FlowRunRecord> {
    authorize(identity, 'createFlowRun');
    const flow = await this.resolveFlow(identity, args);
    let version: FlowVersionRecord | null;
    if (args.flowVersionId) {
      version = await this.store.getFlowVersion(identity.tenant, args.flowVersionId);
      if (!version || version.flowId !== flow.id) throw new FluxoError('NOT_FOUND', `flow version ${args.flowVersionId} of flow "${flow.name}" not found`);
    } else {
      version = await this.store.getLatestFlowVersion(identity.tenant, flow.id);
      if (!version) throw new FluxoError('NOT_FOUND', `flow "${flow.name}" has no version`);
    }
    const parameters = await validateParameters(identity.tenant, version.parameterSchema, args.parameters ?? {});
    const { run, created } = await this.store.createFlowRun(identity.tenant, {
      flowId: flow.id,
      flowVersionId: version.id,
      parameters,
      labels: args.labels ? checkLabels('labels', args.labels) : version.defaultLabels,
      priority: checkInt('priority', args.priority, -1000, 1000, 0),
      scheduledAt: parseDateTime('scheduledAt', args.scheduledAt),
      idempotencyKey: args.idempotencyKey == null ? null : checkString('idempotencyKey', args.idempotencyKey, 200),
      actor: actorOf(identity),
    });
    if (created) this.events.runsChanged([run]);
    return run;
  }

  private async resolveFlow(identity: Identity, args: CreateFlowRunArgs): Promise<FlowRecord> {
    if (args.flowId) {
      const flow = await this.store.getFlow(identity.tenant, args.flowId);
      if (!flow) throw new FluxoError('NOT_FOUND', `flow ${args.flowId} not found`);
      return flow;
    }
    if (!args.flowName) throw new FluxoError('BAD_USER_INPUT', 'give flowId, or flowName (and project)');
    const project = args.project ?? 'production';
    const flow = await this.store.findFlow(identity.tenant, project, args.flowName);
    if (!flow) throw new FluxoError('NOT_FOUND', `flow "${args.flowName}" not found in project "${project}"`);
    return flow;
  }

  async cancelFlowRun(identity: Identity, id: string): Promise<FlowRunRecord> {
    authorize(identity, 'cancelFlowRun');
    const run = await this.store.cancelFlowRun(identity.tenant, id, actorOf(identity));
    this.events.runsChanged([run]);
    return run;
  }

  /** Registers the caller's agent, or updates it; a name another subject holds is refused (agent-names.ts). */
  async registerAgent(identity: Identity, args: { name: string; labels: string[]; concurrency?: number | null | undefined }): Promise<AgentRecord> {
    authorize(identity, 'agentWork');
    const name = checkName('agent name', args.name);
    const agent = await this.store.upsertAgent(identity.tenant, {
      name,
      subject: identity.subject,
      labels: checkLabels('labels', args.labels),
      concurrency: checkInt('concurrency', args.concurrency, 1, 1000, 1),
    });
    if (!agent) throw agentNameTaken(name, identity.subject);
    return agent;
  }

  /** A tenant-admin's move of an agent name to another subject; the agent's leases end with it. */
  async moveAgent(identity: Identity, args: { name: string; toSubject: string }): Promise<AgentRecord> {
    authorize(identity, 'manageAgents');
    const name = checkName('agent name', args.name);
    const moved = await this.store.moveAgent(identity.tenant, name, checkSubject(args.toSubject));
    if (!moved) throw new FluxoError('NOT_FOUND', `agent "${name}" not found`);
    return moved;
  }

  /**
   * The caller's agent. An agent another subject registered answers exactly like a missing one:
   * agent ids are not secrets, so holding one must not let a token act as that agent.
   */
  private async agentOf(identity: Identity, agentId: string): Promise<AgentRecord> {
    authorize(identity, 'agentWork');
    const agent = await this.store.getAgent(identity.tenant, agentId);
    if (!agent || agent.subject !== identity.subject) throw agentNotFound(agentId);
    return agent;
  }

  /**
   * The store's lease token behind the token an agent presents, when that token was handed to this
   * caller's subject. Any other token (another agent's, a bare store token, garbage) becomes one no
   * store token can equal (`!` is not base64url), so the store answers as for a stale lease, or
   * NOT_FOUND for a run that does not exist, with no extra read.
   */
  private storeLeaseOf(identity: Identity, presented: string): string {
    return this.storeLeaseFor(identity, presented) ?? `!${presented}`;
  }

  /** The store's lease token behind a token this service handed out (claim-secrets fails runs under it). */
  storeLeaseFor(identity: Identity, presented: string): string | null {
    return this.#leases.open(identity.subject, presented);
  }

  /**
   * `flowRun(id)`: a reader gets any run of its tenant; an agent only a run one of its subject's
   * agents holds a live lease on. Any other run answers null, exactly like a run that does not
   * exist, so an agent learns nothing (not even where a bundle lives) about runs it was not given.
   */
  async readFlowRun(identity: Identity, id: string): Promise<FlowRunRecord | null> {
    if (identity.role !== 'agent') {
      authorize(identity, 'read');
      return this.store.getFlowRun(identity.tenant, id);
    }
    authorize(identity, 'agentWork');
    const run = await this.store.getFlowRun(identity.tenant, id);
    if (!run?.agentId || run.leaseExpiresAt === null || !leasedStates.includes(run.state)) return null;
    const [holder, now] = await Promise.all([this.store.getAgent(identity.tenant, run.agentId), this.store.now()]);
    return holder?.subject === identity.subject && run.leaseExpiresAt > now ? run : null;
  }

  /**
   * Claims due runs for an agent, holding the request up to `waitMs` until some appear (the
   * long-poll that makes a new run start within milliseconds). Stops waiting when `signal` aborts
   * (the agent hung up), so no run is claimed for a caller that is gone.
   */
  async claimFlowRuns(
    identity: Identity, args: { agentId: string; max: number; waitMs?: number | null | undefined; requestId?: string | null | undefined }, signal?: AbortSignal,
  ): Promise<Claim[]> {
    const agent = await this.agentOf(identity, args.agentId);
    const max = checkInt('max', args.max, 1, 100, 1);
    const waitMs = checkInt('waitMs', args.waitMs, 0, this.maxClaimWaitMs, 0);
    // Each round asks the store with the request id first: a retry whose first answer was lost gets
    // those runs back, even when the first request claimed them while this one was waiting.
    const requestId = args.requestId == null ? null : checkString('requestId', args.requestId, 100);
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (signal?.aborted) return [];
      // The store checks the holder again in the claim's transaction: the name may move while this waits.
      // Runs a SKIP flow limit ended inside the claim changed too: publish them like the claimed ones.
      const claims = await this.store.claimFlowRuns(identity.tenant, agent, agent.labels, max, this.leaseMs, (skipped) => this.events.runsChanged(skipped), requestId);
      if (claims.length > 0) {
        this.events.runsChanged(claims.map((c) => c.run));
        return claims.map((claim) => ({ ...claim, leaseToken: this.#leases.bind(identity.subject, claim.leaseToken) }));
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      const next = await this.store.nextScheduledAt(identity.tenant);
      const untilDue = next === null ? remaining : Math.max(1, next - (await this.store.now()));
      await this.events.waitForWork(identity.tenant, Math.min(remaining, untilDue), signal);
    }
  }

  async setFlowRunState(
    identity: Identity,
    args: {
      flowRunId: string; leaseToken: string; expectedVersion: number; state: FlowRunStateType; reason?: string | null; message?: string | null; exitCode?: number | null; signal?: string | null;
      batch?: RunBatchArgs | null;
    },
  ): Promise<FlowRunRecord> {
    authorize(identity, 'agentWork');
    // The entries riding with the state (run-batch.ts) are checked before anything is written.
    const batch = args.batch == null ? null : checkRunBatch(args.batch);
    const leaseToken = this.storeLeaseOf(identity, args.leaseToken);
    const write = {
      flowRunId: args.flowRunId,
      leaseToken,
      expectedVersion: args.expectedVersion,
      state: args.state,
      reason: args.reason == null ? null : checkString('reason', args.reason, 100),
      message: args.message == null ? null : args.message.slice(0, 10_000),
      exitCode: args.exitCode ?? null,
      signal: args.signal ?? null,
      actor: actorOf(identity),
    };
    if (batch === null) {
      const run = await this.store.setFlowRunState(identity.tenant, write);
      this.events.runsChanged([run]);
      return run;
    }
    const { run, lines } = await this.store.setFlowRunStateWithBatch(identity.tenant, write, batch);
    if (lines.length > 0) this.events.emit('run:logs', args.flowRunId, lines);
    this.events.runsChanged([run]);
    return run;
  }

  async setTaskRunStates(identity: Identity, args: { flowRunId: string; leaseToken: string; batchId?: string | null | undefined; states: TaskStateWrite[] }): Promise<number> {
    authorize(identity, 'agentWork');
    if (args.states.length > 5000) throw new FluxoError('BAD_USER_INPUT', 'at most 5,000 task states per call');
    const batchId = args.batchId == null ? null : checkString('batchId', args.batchId, 100);
    for (const s of args.states) checkTaskState(s, (name) => (name === 'key' ? 'task key' : name), 'task state');
    const leaseToken = this.storeLeaseOf(identity, args.leaseToken);
    return this.store.setTaskRunStates(identity.tenant, args.flowRunId, leaseToken, args.states, actorOf(identity), batchId);
  }

  async writeLogs(identity: Identity, args: { flowRunId: string; leaseToken: string; batchId: string; lines: LogLineWrite[] }): Promise<LogRecord[]> {
    authorize(identity, 'agentWork');
    if (args.lines.length > 5000) throw new FluxoError('BAD_USER_INPUT', 'at most 5,000 log lines per batch');
    checkString('batchId', args.batchId, 100);
    const lines = clipLogLines(args.lines);
    const leaseToken = this.storeLeaseOf(identity, args.leaseToken);
    const stored = await this.store.writeLogs(identity.tenant, args.flowRunId, leaseToken, args.batchId, lines);
    if (stored.length > 0) this.events.emit('run:logs', args.flowRunId, stored);
    return stored;
  }

  async heartbeat(identity: Identity, args: { agentId: string; leases: { flowRunId: string; leaseToken: string }[] }): Promise<HeartbeatResult> {
    const agent = await this.agentOf(identity, args.agentId);
    if (args.leases.length > 10_000) throw new FluxoError('BAD_USER_INPUT', 'at most 10,000 leases per heartbeat');
    // Only this agent's runs are renewed (the store matches the agent), and only under tokens handed
    // to this caller's subject (any other token is unbound and never matches); the rest is lost.
    const leases = args.leases.map((lease) => ({ flowRunId: lease.flowRunId, leaseToken: this.storeLeaseOf(identity, lease.leaseToken) }));
    return this.store.heartbeat(identity.tenant, agent.id, leases, this.leaseMs);
  }

  /** One pass of the lease reaper (all tenants). */
  async reapExpiredLeases(): Promise<FlowRunRecord[]> {
    const runs = await this.store.reapExpiredLeases('server:lease-reaper');
    if (runs.length > 0) this.events.runsChanged(runs);
    return runs;
  }

  /**
   * Claims runs for the caller's agent ({@link claimFlowRuns}) and completes each with what its
   * child needs: the flow's secrets, the results a restart reuses, its output key (claim-work.ts).
   */
  claimWork(identity: Identity, args: Parameters<FluxoService['claimFlowRuns']>[1], signal?: AbortSignal): Promise<ClaimedWork[]> {
    return claimWork(this, identity, args, signal);
  }

  /** Registers up to 100 flows in one call, each like {@link registerFlow} (register-flows.ts). */
  registerFlows(identity: Identity, inputs: readonly RegisterFlowArgs[]): Promise<RegisterFlowsItem[]> {
    return registerFlows(this, identity, inputs);
  }

  /** Which of these bundle digests the tenant already registered, and where (register-flows.ts). */
  knownBundles(identity: Identity, sha256s: readonly string[]): Promise<{ sha256: string; storageUri: string }[]> {
    return knownBundles(this, identity, sha256s);
  }

  /** A new attempt of a finished run that reuses its succeeded tasks' results (restart.ts). */
  restartFlowRun(identity: Identity, id: string): Promise<FlowRunRecord> {
    return restartFlowRun(this, identity, id);
  }

  /** A new run of a finished run's version, with its parameters or new ones (restart.ts). */
  rerunFlowRun(identity: Identity, id: string, parameters: unknown): Promise<FlowRunRecord> {
    return rerunFlowRun(this, identity, id, parameters);
  }

  /** Cancels of the runs the caller's agent holds, pushed as they happen, until `signal` aborts (lease-signals.ts). */
  leaseSignals(identity: Identity, agentId: string, signal?: AbortSignal): AsyncGenerator<LeaseSignal> {
    return leaseSignals(this, identity, agentId, signal);
  }
}
