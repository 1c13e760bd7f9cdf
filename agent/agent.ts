// The agent daemon as a library: register, then claim runs by long-polling while slots are free,
// execute each claimed run (flow-run-execution.ts), renew leases (heartbeat.ts), and stop
// gracefully. Transport failures are retried with backoff; a refused token stops the agent with
// an error, because no retry can cure it. The CLI (cli/commands/agent.ts) is a thin shell on top.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { TransportError, GraphQLClient, readCaFile } from '../client/graphql-client.js';
import { FluxoError, coerceError } from '../common/errors.js';
import { AgentApi, type ClaimedRun } from './agent-api.js';
import { backoffDelay, sleep } from './backoff.js';
import { BundleCache } from './bundle-cache.js';
import type { AgentConfig } from './config.js';
import { AgentEventEmitter } from './events.js';
import { ResultStorage } from './result-storage.js';
import { FlowRunExecution } from './flow-run-execution.js';
import { WarmChildren } from './warm-child.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { listenForLeaseSignals, type LeaseSignalListener } from './lease-signals.js';
import { isTokenRefusal } from './relay.js';
import { RunUsers, prepareRunDirs } from './run-as.js';
import { childRuntimeFiles } from './spawn-flow-run.js';
import { SpoolBudget } from './spool.js';
import { deliverSpooledRuns, findSpooledRuns, type SpooledRun } from './late-delivery.js';
import { createDataService, type DataService } from '../data/service.js';

export interface StartAgentOptions {
  /** Subscribe before starting to see registration retries. @default a new emitter */
  events?: AgentEventEmitter;
  /** Aborting gives up registering (the agent was asked to stop before it got going). */
  signal?: AbortSignal;
  /** The API client. @default a GraphQLClient for `config.apiUrl` with `config.token` (and `config.caFile`) */
  client?: GraphQLClient;
}

/** A started agent. */
export interface RunningAgent {
  readonly agentId: string;
  readonly events: AgentEventEmitter;
  /** Resolves when the agent has stopped; rejects with the error that stopped it (a refused token). */
  readonly done: Promise<void>;
  /** Bytes of task states and log lines waiting on disk for the server, all runs together. */
  readonly spoolBytes: number;
  /**
   * Graceful stop: claim nothing more, let running flows finish for up to `timeoutMs`
   * (default `stopTimeoutSeconds`), then stop the rest (SIGTERM, SIGKILL after the cancel grace)
   * and report them CRASHED with reason `agent-stopped`. Calling it again with `timeoutMs: 0`
   * cuts the wait short.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Registers the agent and starts claiming. Resolves once registered and claiming; rejects when
 * registration is refused (a bad token) or `signal` aborts.
 *
 * @example
 * const agent = await startAgent(resolveAgentConfig({ apiUrl, token, labels: ['smtr'] }));
 * agent.events.on('run:finished', ({ flowRunId, state }) => console.log(flowRunId, state));
 * await agent.stop();
 */
export async function startAgent(config: AgentConfig, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const events = options.events ?? new AgentEventEmitter();
  const client = options.client ?? new GraphQLClient({ apiUrl: config.apiUrl, token: config.token, ...(config.caFile ? { ca: readCaFile(config.caFile) } : {}) });
  const api = new AgentApi(client, { onCall: (call) => events.emit('api:call', call) });
  // Before any run: the spool, cache and runs directories closed to the run user, and what a run needs within its reach.
  prepareRunDirs({
    ...config,
    childFiles: childRuntimeFiles(config.childEntry),
    onWarning: (message, error) => events.emit('agent:warning', { message, ...(error ? { error } : {}) }),
  });
  // Spools a previous process of this agent left (late-delivery.ts): found before any claim, so a
  // spool of this process is never among them, and delivered in the background once registered.
  // Files without a header say neither run attempt nor agent: nothing can deliver them.
  const spooled = findSpooledRuns(config.spoolDir);
  for (const orphan of spooled.orphans) rmSync(orphan, { force: true });
  if (spooled.orphans.length > 0) events.emit('agent:warning', { message: `removed ${spooled.orphans.length} spool files without a run header left in ${config.spoolDir}` });
  const agentId = await register(api, config, events, options.signal);
  // Storage roots naming {tenant} are filled with the tenant this agent's token acts in.
  const tenant = config.storageRoots.needsTenant ? (await api.viewer()).tenant : null;
  const agent = new Agent(agentId, config, api, events, tenant);
  agent.start();
  agent.deliverLate(spooled.runs);
  return agent;
}

async function register(api: AgentApi, config: AgentConfig, events: AgentEventEmitter, signal?: AbortSignal): Promise<string> {
  for (let failures = 1; ; failures++) {
    if (signal?.aborted) throw new Error('the agent was stopped before it registered', { cause: signal.reason });
    try {
      const { id } = await api.registerAgent({ name: config.name, labels: [...config.labels], concurrency: config.concurrency });
      return id;
    } catch (error) {
      // The server may still be starting: wait for it. Anything else (a bad token) is final.
      if (!(error instanceof TransportError)) throw error;
      const retryInMs = backoffDelay(failures);
      events.emit('api:unreachable', { operation: 'registerAgent', error, retryInMs });
      await sleep(retryInMs, signal);
    }
  }
}

/** Runs one claim request may ask for (see the claim loop). */
export const MAX_CLAIM_BATCH = 50;

class Agent implements RunningAgent {
  readonly agentId: string;
  readonly events: AgentEventEmitter;
  readonly done: Promise<void>;
  readonly #config: AgentConfig;
  readonly #api: AgentApi;
  readonly #cache: BundleCache;
  readonly #spoolBudget: SpoolBudget;
  /** Where task results go (agent/result-storage.ts). */
  readonly #results: ResultStorage;
  /** The lake, warehouse and dbt work of every run (opened on first use; one DuckDB writer per agent). */
  readonly #data: DataService;
  /** Who each run's process runs as (agent/run-as.ts); undefined: the agent's own user. */
  readonly #runUsers: RunUsers | undefined;
  /** The child runtime started ahead of demand while runs arrive (agent/warm-child.ts); undefined: off. */
  readonly #warmChildren: WarmChildren | undefined;
  readonly #runs = new Map<string, FlowRunExecution>();
  /** Aborts the claim in flight and the backoff sleeps when the agent stops. */
  readonly #stopClaiming = new AbortController();
  #heartbeat: Heartbeat | undefined;
  /** Pushed cancellations (lease-signals.ts): opened with the first run held, closed when the agent stops. */
  #signals: LeaseSignalListener | undefined;
  #claimLoop: Promise<void> = Promise.resolve();
  #slotFreed: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #cutShort: (() => void) | undefined;
  /** A second stop asked not to wait, possibly before the wait began. */
  #hurry = false;
  #fatalError: Error | undefined;
  #resolveDone!: () => void;
  #rejectDone!: (error: Error) => void;
  readonly #killOnExit = (): void => {
    // Last resort if the agent process exits without stopping: no flow outlives it.
    for (const run of this.#runs.values()) run.abandon();
  };

  constructor(agentId: string, config: AgentConfig, api: AgentApi, events: AgentEventEmitter, tenant: string | null) {
    this.agentId = agentId;
    this.#config = config;
    this.#api = api;
    this.events = events;
    this.#cache = new BundleCache({ cacheDir: config.cacheDir, maxBytes: config.maxBundleBytes, storageRoots: config.storageRoots, tenant });
    this.#spoolBudget = new SpoolBudget(config.spoolMaxBytes);
    this.#results = new ResultStorage(config.resultStorage, async () => tenant ?? (await api.viewer()).tenant);
    this.#runUsers = config.runAs ? new RunUsers(config.runAs) : undefined;
    this.#warmChildren =
      config.warmChildIdleSeconds > 0 && WarmChildren.possible(config)
        ? new WarmChildren({ config, idleMs: config.warmChildIdleSeconds * 1000, onWarning: (message, error) => events.emit('agent:warning', { message, ...(error ? { error } : {}) }) })
        : undefined;
    this.#data = createDataService(config.data);
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // `done` is for whoever awaits it; an unobserved rejection must not crash the process.
    this.done.catch(() => undefined);
  }

  get spoolBytes(): number {
    return this.#spoolBudget.usedBytes;
  }

  start(): void {
    process.once('exit', this.#killOnExit);
    this.#heartbeat = startHeartbeat({
      api: this.#api,
      agentId: this.agentId,
      intervalMs: this.#config.heartbeatSeconds * 1000,
      leases: () => [...this.#runs.values()].flatMap((run) => (run.lease ? [run.lease] : [])),
      onLost: (ids) => ids.forEach((id) => this.#runs.get(id)?.leaseLost('heartbeat')),
      onRenewed: (ids, sentAt, leaseSeconds) => ids.forEach((id) => this.#runs.get(id)?.leaseRenewed(sentAt, leaseSeconds)),
      onCancelling: (ids) => ids.forEach((id) => this.#runs.get(id)?.cancel()),
      onUnreachable: (error, retryInMs) => this.events.emit('api:unreachable', { operation: 'heartbeat', error, retryInMs }),
      onWarning: (message, error) => {
        const lost = this.#nameLost(error);
        if (lost) this.#fatal(lost);
        else this.events.emit('agent:warning', { message, error });
      },
      onFatal: (error) => this.#fatal(error),
    });
    this.#claimLoop = this.#claim().catch((error: unknown) => this.#fatal(coerceError(error)));
    this.events.emit('agent:ready', { agentId: this.agentId, name: this.#config.name, labels: this.#config.labels, concurrency: this.#config.concurrency });
  }

  /** Delivers what a previous process of this agent spooled (late-delivery.ts) without holding up claims; stopping ends it, the rest waits on disk. */
  deliverLate(runs: SpooledRun[]): void {
    if (runs.length === 0) return;
    void deliverSpooledRuns({
      api: this.#api,
      agentId: this.agentId,
      agentName: this.#config.name,
      dir: this.#config.spoolDir,
      runs,
      signal: this.#stopClaiming.signal,
      onDelivered: (run, _entries, bytes) => this.events.emit('spool:drained', { flowRunId: run.header.flowRunId, bytes }),
      onWarning: (message, flowRunId, error) => this.events.emit('agent:warning', { message, ...(flowRunId ? { flowRunId } : {}), ...(error ? { error } : {}) }),
      onRetry: (error, retryInMs) => this.events.emit('api:unreachable', { operation: 'deliverLateRunEntries', error, retryInMs }),
      onFatal: (error) => this.#fatal(error),
    });
  }

  stop({ timeoutMs = this.#config.stopTimeoutSeconds * 1000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopping) {
      if (timeoutMs === 0) {
        this.#hurry = true;
        this.#cutShort?.();
      }
      return this.#stopping;
    }
    this.#stopping = this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopClaiming.abort();
    this.#slotFreed?.();
    await this.#claimLoop;
    const warmClosed = this.#warmChildren?.close();
    const waiting = [...this.#runs.values()];
    const allDone = Promise.all(waiting.map((run) => run.done));
    let interrupted = 0;
    await Promise.race([
      allDone,
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#hurry ? 0 : timeoutMs);
        this.#cutShort = () => {
          clearTimeout(timer);
          resolve();
        };
        void allDone.then(() => clearTimeout(timer));
      }),
    ]);
    for (const run of this.#runs.values()) {
      interrupted++;
      run.interrupt();
    }
    // Runs still report their final state (CRASHED, agent-stopped): keep renewing their leases meanwhile.
    await Promise.all([...this.#runs.values()].map((run) => run.done));
    await warmClosed;
    await this.#heartbeat?.stop();
    this.#signals?.stop();
    await this.#data.close();
    process.removeListener('exit', this.#killOnExit);
    if (this.#fatalError) return;
    this.events.emit('agent:shutdown', { reason: 'stopped', runsInterrupted: interrupted });
    this.#resolveDone();
  }

  /**
   * NOT_FOUND for the agent's own id (claims, heartbeats) means the name is no longer this token's:
   * agents are never deleted, so a tenant-admin moved it (`fluxo agents move`). No retry cures it.
   */
  #nameLost(error: unknown): FluxoError | undefined {
    if (!(error instanceof FluxoError) || error.code !== 'NOT_FOUND') return undefined;
    return new FluxoError(
      'AGENT_NAME_TAKEN',
      `agent "${this.#config.name}" (${this.agentId}) is no longer held by this token: a tenant-admin moved the name to another token (fluxo agents move); stopping`,
      { cause: error },
    );
  }

  /** A refused token, or a name lost: nothing can be reported any more. Kill every child, stop, and fail `done`. */
  #fatal(error: Error): void {
    if (this.#fatalError) return;
    this.#fatalError = error;
    this.#stopClaiming.abort();
    this.#slotFreed?.();
    const runs = [...this.#runs.values()];
    for (const run of runs) run.abandon();
    this.#signals?.stop();
    void (async () => {
      await this.#warmChildren?.close();
      await this.#heartbeat?.stop();
      await Promise.all(runs.map((run) => run.done));
      await this.#data.close();
      process.removeListener('exit', this.#killOnExit);
      this.events.emit('agent:shutdown', { reason: 'fatal', runsInterrupted: runs.length, error });
      this.#rejectDone(error);
    })();
  }

  async #claim(): Promise<void> {
    const signal = this.#stopClaiming.signal;
    let failures = 0;
    // One id per claim, sent again after a transport error: if the lost answer carried runs, the
    // retry gets them back instead of leaving them stranded until their lease expires.
    let requestId = randomUUID();
    while (!signal.aborted) {
      const free = this.#config.concurrency - this.#runs.size;
      if (free <= 0) {
        // Never claim with max 0: wait until a run leaves.
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        this.#slotFreed = undefined;
        continue;
      }
      let claimed: ClaimedRun[];
      try {
        // At most MAX_CLAIM_BATCH per request: the answer's nested lists (secrets, stored results)
        // keep the operation under the server's cost limit; more free slots just claim again at once.
        claimed = await this.#api.claimFlowRuns({ agentId: this.agentId, max: Math.min(free, MAX_CLAIM_BATCH), waitMs: this.#config.claimWaitMs, requestId }, signal);
        failures = 0;
        requestId = randomUUID();
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        // A refusal was answered (nothing claimed): the next claim is a new request.
        if (!(error instanceof TransportError)) requestId = randomUUID();
        const retryInMs = backoffDelay(failures);
        if (error instanceof TransportError) {
          this.events.emit('api:unreachable', { operation: 'claimFlowRuns', error, retryInMs });
        } else if (error instanceof FluxoError && (isTokenRefusal(error) || error.code === 'NOT_FOUND')) {
          this.#fatal(this.#nameLost(error) ?? error);
          break;
        } else {
          this.events.emit('agent:warning', { message: 'claimFlowRuns was refused; retrying', error: coerceError(error) });
        }
        await sleep(retryInMs, signal);
        continue;
      }
      // Runs that arrive as the agent stops are still ours: run them (stop waits for them).
      for (const claim of claimed) this.#execute(claim);
    }
  }

  /**
   * Opens the lease-signal subscription once the agent holds a run: a cancel then reaches the child
   * at once, the heartbeat's `cancelling` list being the fallback. Never before the first run, so an
   * agent that only waits for work keeps graphql-ws and ws unloaded.
   */
  #listenForSignals(): void {
    if (this.#signals || this.#fatalError) return;
    this.#signals = listenForLeaseSignals({
      api: this.#api,
      agentId: this.agentId,
      onCancel: (id) => this.#runs.get(id)?.cancel(),
      onUnreachable: (error, retryInMs) => this.events.emit('api:unreachable', { operation: 'leaseSignals', error, retryInMs }),
      onWarning: (message, error) => this.events.emit('agent:warning', { message, error }),
    });
  }

  #execute(claim: ClaimedRun): void {
    const run = new FlowRunExecution(claim, {
      api: this.#api,
      cache: this.#cache,
      config: this.#config,
      events: this.events,
      onFatal: (error) => this.#fatal(error),
      spoolBudget: this.#spoolBudget,
      results: this.#results,
      data: this.#data,
      ...(this.#runUsers ? { runUsers: this.#runUsers } : {}),
      ...(this.#warmChildren ? { warmChildren: this.#warmChildren } : {}),
      onSpoolKept: (flowRunId, attempt) =>
        this.deliverLate(findSpooledRuns(this.#config.spoolDir).runs.filter((r) => r.header.flowRunId === flowRunId && r.header.attempt === attempt)),
    });
    this.#runs.set(run.flowRunId, run);
    this.#listenForSignals();
    void run.done.then(() => {
      this.#runs.delete(run.flowRunId);
      this.#slotFreed?.();
    });
  }
}
