// One claimed run from lease to final state (PROTOCOL.md sections 3-7): fetch and verify the
// bundle, spawn the child, write RUNNING once it is ready, relay its task states and logs, and
// report how it ended. Every state write is a compare-and-set on the run's version and our lease;
// the answers decide whether we continue, cancel, or forget the run.
import { resolveFlowSecrets, secretsFromEnvironment } from './flow-secrets.js';
import { maskerOf, type Masker } from './secret-masker.js';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FluxoError, coerceError } from '../common/errors.js';
import { isFinalState } from '../contract/states.js';
import type { FlowRunStateType, LeaseInput, RunBatchInput } from '../schema/generated/graphql.js';
import { toMaterializationInput, type AgentApi, type ClaimedRun } from './agent-api.js';
import { RetryAbortedError, retryInTransit } from './backoff.js';
import { BundleUnavailableError, IntegrityError, type BundleCache, type CheckedOutBundle } from './bundle-cache.js';
import type { AgentConfig } from './config.js';
import type { RunUser, RunUsers } from './run-as.js';
import type { AgentEventEmitter } from './events.js';
import { finalStateOf, type FinalState } from './final-state.js';
import { RunRelay, isTokenRefusal } from './relay.js';
import { spawnFlowRun, type FlowRunChild } from './spawn-flow-run.js';
import type { WarmChildren } from './warm-child.js';
import type { ResultStorage, StoredResultPointer } from './result-storage.js';
import type { TaskStateEvent } from '../sdk/runtime/protocol.js';
import { SpoolBudget } from './spool.js';
import { dispatchDataRequest, type DataService } from '../data/service.js';

export interface FlowRunExecutionDeps {
  api: AgentApi;
  cache: BundleCache;
  config: AgentConfig;
  events: AgentEventEmitter;
  /** A refused token: the agent must stop. */
  onFatal: (error: FluxoError) => void;
  /** Hands each run its uid (one of a range, or the one run-as user). @default `config.runAs` for every run */
  runUsers?: RunUsers;
  /** The agent's spool byte budget (shared by its runs; the directory is `config.spoolDir`). @default one of the run's own */
  spoolBudget?: SpoolBudget;
  /** Where task results are stored and read back. @default none: results are neither stored nor restored */
  results?: ResultStorage;
  /** The agent's data service (one per agent), answering the runs' fluxo/data requests. @default none: they fail DATA_NOT_CONFIGURED */
  data?: DataService;
  /** The child runtime started ahead of demand (agent/warm-child.ts). @default none: each run spawns its own */
  warmChildren?: WarmChildren;
  /** The lease was lost with entries still queued: they were kept on disk for late delivery (late-delivery.ts). */
  onSpoolKept?: (flowRunId: string, attempt: number) => void;
}

/** Re-reads after VERSION_CONFLICT before giving up on a run that keeps changing under us. */
const MAX_CONFLICT_RETRIES = 5;

type WriteOutcome = 'written' | 'cancelling' | 'forgotten';

/** A claimed run in the agent's hands. `done` resolves when the agent no longer holds it. */
export class FlowRunExecution {
  readonly flowRunId: string;
  readonly attempt: number;
  readonly done: Promise<void>;
  readonly #claim: ClaimedRun;
  readonly #deps: FlowRunExecutionDeps;
  readonly #abort = new AbortController();
  readonly #relay: RunRelay;
  readonly #claimedAt = Date.now();
  #version: number;
  #child: FlowRunChild | undefined;
  #cancelRequested = false;
  #agentStopping = false;
  #forgotten = false;
  #fence: NodeJS.Timeout | undefined;
  /** Task states wait here while an earlier one's result is being stored, so the run's order holds. */
  #order: Promise<void> = Promise.resolve();
  #ordering = 0;
  /** The stored results of a restarted run, by inputs hash and task key. */
  readonly #stored = new Map<string, StoredResultPointer>();
  /** Masks the run's secret values in every text that leaves the agent (identity until they are known). */
  #mask: Masker = (text) => text;

  constructor(claim: ClaimedRun, deps: FlowRunExecutionDeps) {
    this.#claim = claim;
    this.#deps = deps;
    this.flowRunId = claim.flowRun.id;
    this.attempt = claim.flowRun.attempt;
    this.#version = claim.flowRun.version;
    for (const r of claim.storedResults) this.#stored.set(`${r.inputsHash} ${r.taskKey}`, { uri: r.uri, sha256: r.sha256, size: r.size });
    this.#relay = new RunRelay({
      api: deps.api,
      flowRunId: this.flowRunId,
      leaseToken: claim.leaseToken,
      flushIntervalMs: deps.config.flushIntervalMs,
      onLeaseLost: () => this.leaseLost('relay'),
      onFatal: (error) => deps.onFatal(error),
      onWarning: (message, error) => this.#warn(message, error),
      onRetry: (operation, error, retryInMs) => deps.events.emit('api:unreachable', { operation, error, retryInMs }),
      // The header lets a restarted agent deliver what is still on disk late (late-delivery.ts).
      spool: {
        dir: deps.config.spoolDir,
        budget: deps.spoolBudget ?? new SpoolBudget(deps.config.spoolMaxBytes),
        header: { v: 1, flowRunId: this.flowRunId, attempt: this.attempt, agentName: deps.config.name },
      },
      onSpill: (path) => deps.events.emit('spool:opened', { flowRunId: this.flowRunId, path }),
      onDrained: (bytes) => deps.events.emit('spool:drained', { flowRunId: this.flowRunId, bytes }),
      onDropped: (lines) => deps.events.emit('logs:dropped', { flowRunId: this.flowRunId, lines }),
    });
    // The claim's answer arrived now; the lease was granted a little earlier, so fence from now
    // minus the safety margin that leaseRenewed applies.
    this.leaseRenewed(performance.now(), claim.leaseSeconds);
    deps.events.emit('run:claimed', { flowRunId: this.flowRunId, attempt: this.attempt, version: this.#version, leaseExpiresAt: claim.leaseExpiresAt });
    this.done = this.#execute().catch(async (error: unknown) => {
      // A failure inside the agent (an unwritable run directory, a bug) must not take the agent
      // down with the run, nor leave the run to the lease reaper: report it and drop the run.
      const cause = coerceError(error);
      this.#warn(`run ${this.flowRunId} failed inside the agent`, cause);
      this.#child?.kill('agent-stopped');
      await this.#finish({ state: 'CRASHED', reason: 'agent-error', message: this.#mask(`the agent failed to run the flow: ${cause.message}`), exitCode: null, signal: null }).catch(() => this.#forget());
    });
    void this.done.finally(() => clearTimeout(this.#fence));
  }

  /** The lease to renew in heartbeats (none once the run is forgotten). */
  get lease(): LeaseInput | null {
    return this.#forgotten ? null : { flowRunId: this.flowRunId, leaseToken: this.#claim.leaseToken };
  }

  /** A user asked to cancel: SIGTERM to the group, SIGKILL after the grace period, then CANCELLED. */
  cancel(): void {
    if (this.#cancelRequested || this.#forgotten) return;
    this.#cancelRequested = true;
    this.#deps.events.emit('run:cancelling', { flowRunId: this.flowRunId });
    this.#child?.terminate('cancelled');
  }

  /**
   * The lease was renewed by a request sent at `sentAt` (performance.now(), a monotonic clock, so
   * wall-clock skew changes nothing). If no renewal follows before the lease could have expired on
   * the server, minus a safety margin, the agent fences itself: it kills the child, because the run
   * may be rescheduled and taken by another agent. Two attempts never run at the same time.
   */
  leaseRenewed(sentAt: number, leaseSeconds: number): void {
    if (this.#forgotten) return;
    const leaseMs = leaseSeconds * 1000;
    const margin = Math.min(leaseMs / 2, Math.max(1000, leaseMs * 0.1));
    const deadline = sentAt + leaseMs - margin;
    clearTimeout(this.#fence);
    this.#fence = setTimeout(() => this.leaseLost('fence'), Math.max(0, deadline - performance.now()));
    this.#fence.unref();
  }

  /** The lease is gone: kill the group at once and forget the run (someone else owns it now). */
  leaseLost(during: 'heartbeat' | 'state-write' | 'relay' | 'fence'): void {
    if (this.#forgotten) return;
    this.#forget({ keepSpool: true });
    this.#child?.kill('lease-lost');
    this.#deps.events.emit('lease:lost', { flowRunId: this.flowRunId, during });
  }

  /** The agent is stopping and cannot wait any longer: stop the child, report CRASHED (agent-stopped). */
  interrupt(): void {
    if (this.#forgotten) return;
    this.#agentStopping = true;
    this.#child?.terminate('agent-stopped');
  }

  /** The agent cannot talk to the server any more (token refused): kill the child, report nothing. */
  abandon(): void {
    if (this.#forgotten) return;
    this.#forget();
    this.#child?.kill('agent-stopped');
  }

  async #execute(): Promise<void> {
    const { flowVersion } = this.#claim.flowRun;
    let bundle: CheckedOutBundle;
    try {
      // A private copy of the bytes just verified: what the child imports is what was hashed.
      bundle = await this.#deps.cache.checkout(flowVersion);
    } catch (error) {
      const failed = error instanceof IntegrityError;
      const message = error instanceof IntegrityError || error instanceof BundleUnavailableError ? error.message : `cannot fetch the bundle: ${coerceError(error).message}`;
      // Rule 5: a bundle that is not the registered one never runs.
      await this.#finish({ state: failed ? 'FAILED' : 'CRASHED', reason: failed ? 'integrity' : 'load-error', message, exitCode: null, signal: null });
      return;
    }
    try {
      await this.#runBundle(bundle.path);
    } finally {
      await bundle.release().catch(() => undefined);
    }
  }

  async #runBundle(bundlePath: string): Promise<void> {
    const { flowVersion } = this.#claim.flowRun;
    if (this.#forgotten) return this.#finished(null);
    let flowSecrets: Record<string, string>;
    try {
      // From the environment only the variables the operator listed: the flow's author picks the names.
      const { secretsFromFile, secretsFromEnv } = this.#deps.config;
      flowSecrets = resolveFlowSecrets(flowVersion.secrets, { server: this.#claim.secrets, file: secretsFromFile, env: secretsFromEnvironment(secretsFromEnv, process.env) });
    } catch (error) {
      // Nothing runs without the secrets it declared: failing here is clearer than failing inside.
      await this.#finish({ state: 'FAILED', reason: 'missing-secret', message: coerceError(error).message, exitCode: null, signal: null });
      return;
    }
    const redact = (this.#mask = maskerOf(Object.values(flowSecrets)));
    if (this.#cancelRequested) {
      await this.#finish({ state: 'CANCELLED', reason: 'cancelled', message: 'cancelled before the flow started', exitCode: null, signal: null });
      return;
    }
    if (this.#agentStopping) {
      await this.#finish({ state: 'CRASHED', reason: 'agent-stopped', message: 'the agent stopped before the flow started', exitCode: null, signal: null });
      return;
    }

    const { config } = this.#deps;
    // A child started ahead of demand comes with its directory and user, both what this run would get.
    const prepared = await this.#deps.warmChildren?.take();
    // 0711: the run user opens its own directory, never lists the others (agent/run-as.ts).
    if (!prepared) await mkdir(config.runsDir, { recursive: true, mode: 0o711 });
    const cwd = prepared?.cwd ?? (await mkdtemp(join(config.runsDir, `${this.flowRunId.replace(/[^A-Za-z0-9_-]/g, '_')}-`)));
    let runAs: RunUser | null = null;
    try {
      runAs = prepared ? prepared.runAs : (this.#deps.runUsers?.acquire() ?? config.runAs);
      // mkdtemp made it 0700: the run user's alone.
      if (runAs && !prepared) await chown(cwd, runAs.uid, runAs.gid);
      const timeoutSeconds = flowVersion.timeoutSeconds;
      const child = spawnFlowRun({
        flowRunId: this.flowRunId,
        attempt: this.attempt,
        bundlePath,
        entrypoint: flowVersion.entrypoint,
        parameters: this.#claim.flowRun.parameters,
        cwd,
        runAs,
        ...(prepared ? { prepared } : {}),
        timeoutMs: timeoutSeconds === null || timeoutSeconds === undefined ? null : timeoutSeconds * 1000,
        cancelGraceMs: config.cancelGraceSeconds * 1000,
        passEnv: config.passEnv,
        secrets: [config.token],
        memoryLimitMb: config.childMemoryMb,
        flowSecrets,
        ...(config.childEntry ? { childEntry: config.childEntry } : {}),
        beforeStart: () => this.#markRunning(),
        // Secret values never leave the agent: not in log lines, not in task failure messages (nor, masked
        // here, in the spool that holds them while the server is unreachable).
        onTaskState: (event) => this.#taskState(event.message === null ? event : { ...event, message: redact(event.message) }),
        onLog: (event) => this.#inOrder(() => this.#relay.log({ ...event, message: redact(event.message) })),
        ...(this.#deps.data ? { data: this.#dataHandler(this.#deps.data, redact) } : {}),
        dataMaxUploadBytes: config.dataMaxUploadMib * 1024 * 1024,
        ...(this.#deps.results && this.#stored.size > 0
          ? {
              storedResults: [...this.#stored.keys()].map((k) => ({ inputsHash: k.slice(0, k.indexOf(' ')), taskKey: k.slice(k.indexOf(' ') + 1) })),
              readResult: (taskKey: string, inputsHash: string) => this.#readResult(taskKey, inputsHash),
            }
          : {}),
      });
      this.#child = child;
      // A cancellation or a stop that arrived while the child was being spawned.
      if (this.#cancelRequested) child.terminate('cancelled');
      else if (this.#agentStopping) child.terminate('agent-stopped');
      void child.started.then((started) => {
        if (started && child.pid !== undefined) this.#deps.events.emit('run:started', { flowRunId: this.flowRunId, attempt: this.attempt, pid: child.pid });
      });

      const outcome = await child.outcome;
      if (this.#forgotten) return this.#finished({ ...finalStateOf(outcome), message: 'the run was dropped (lease lost)' }, false);
      // A child our cancellation stopped ends CANCELLED; one that ended on its own while the
      // cancellation was on its way is reported as it ended (the server accepts CANCELLING → SUCCESS).
      await this.#order;
      // What the child left rides with the final state when it is one batch in memory (issue 14:
      // a short run costs claim, RUNNING and the final write); anything more leaves first, as before.
      const batch = await this.#relay.takeFinalBatch();
      if (batch === null) await this.#relay.close();
      const final = finalStateOf(outcome);
      await this.#finish({ ...final, message: final.message === null ? null : redact(final.message) }, batch);
    } finally {
      // The run's group is gone; with a uid of its own, so is anything it left running (before its directory goes).
      if (runAs && this.#deps.runUsers) this.#deps.runUsers.release(runAs);
      await rm(cwd, { recursive: true, force: true }).catch((error: unknown) => {
        this.#deps.events.emit('agent:warning', { message: `could not remove ${cwd}`, flowRunId: this.flowRunId, error: coerceError(error) });
      });
    }
  }

  /**
   * Runs `step` after every earlier relay step: at once when nothing waits (the common case, no
   * promise per log line), else chained behind the result being stored.
   */
  #inOrder(step: () => void | Promise<void>): void {
    if (this.#ordering === 0) {
      const pending = step();
      if (!(pending instanceof Promise)) return;
      this.#ordering++;
      this.#order = pending.catch(() => undefined).finally(() => void this.#ordering--);
      return;
    }
    this.#ordering++;
    this.#order = this.#order.then(step).catch(() => undefined).finally(() => void this.#ordering--);
  }

  /**
   * Relays a task state. A SUCCESS with a result is stored first, then reported with its pointer; a
   * restored one is reported with the pointer it was read from. Stores start at once (several may
   * be in flight) while the states keep their order. A result that cannot be stored is a warning,
   * never a lost state.
   */
  #taskState(event: TaskStateEvent): void {
    const { result: carried, restored, ...state } = event;
    const results = this.#deps.results;
    if (state.state === 'SUCCESS' && restored && state.inputsHash !== undefined) {
      const pointer = this.#stored.get(`${state.inputsHash} ${state.key}`) ?? null;
      this.#inOrder(() => this.#relay.taskState(state, pointer));
      return;
    }
    if (state.state !== 'SUCCESS' || carried === undefined || !results) {
      this.#inOrder(() => this.#relay.taskState(state));
      return;
    }
    const stored = results.store({ flowRunId: this.flowRunId, attempt: this.attempt, taskKey: state.key, json: carried.json }).catch((error: unknown) => {
      this.#warn(`could not store the result of task ${state.key} in ${results.baseUri}; a restart will run it again`, coerceError(error));
      return null;
    });
    this.#inOrder(() => stored.then((pointer) => this.#relay.taskState(state, pointer)));
  }

  /**
   * Answers the child's fluxo/data requests with the agent's data service, for this run: its
   * output key (a rerun replaces the output of the run it reruns), its lines in the run's log
   * (masked like every other), its writes relayed for lineage.
   */
  #dataHandler(service: DataService, redact: Masker) {
    const outputKey = this.#claim.outputKey;
    return (operation: string, args: Record<string, unknown>, taskKey: string | null, signal: AbortSignal): Promise<unknown> => {
      const data = service.forRun({
        flowRunId: this.flowRunId,
        attempt: this.attempt,
        outputKey,
        taskKey,
        signal,
        log: (level, message) =>
          this.#inOrder(() => this.#relay.log({ level, stream: 'logger', message: redact(message), taskRunKey: taskKey, timestamp: new Date().toISOString() })),
        record: (materialization) => this.#inOrder(() => this.#relay.materialization(toMaterializationInput(materialization, taskKey))),
      });
      return dispatchDataRequest(data, operation, args);
    };
  }

  /** The child asks for a stored result: read it and check it against the server's record; null (and a warning) otherwise. */
  async #readResult(taskKey: string, inputsHash: string): Promise<string | null> {
    const pointer = this.#stored.get(`${inputsHash} ${taskKey}`);
    if (!pointer || !this.#deps.results) return null;
    try {
      return await this.#deps.results.read(pointer);
    } catch (error) {
      // Never hand the flow bytes that are not the recorded ones: it runs the task again instead.
      this.#stored.delete(`${inputsHash} ${taskKey}`);
      const message = `the stored result of task ${taskKey} was not returned (${coerceError(error).message}); the task runs again`;
      this.#warn(message);
      this.#relay.log({ level: 'WARNING', stream: 'logger', message: `fluxo agent: ${message}`, taskRunKey: taskKey, timestamp: new Date().toISOString() });
      return null;
    }
  }

  /** Writes RUNNING once the child is ready; false means "do not start the flow". */
  async #markRunning(): Promise<boolean> {
    if (this.#forgotten || this.#cancelRequested || this.#agentStopping) return false;
    const written = await this.#write({ state: 'RUNNING', reason: null, message: null, exitCode: null, signal: null });
    if (written === 'cancelling') this.cancel();
    if (written !== 'written' || this.#cancelRequested || this.#forgotten) return false;
    this.#relay.open();
    return true;
  }

  /** Reports the final state, with the run's last entries when they ride with it. */
  async #finish(final: FinalState, batch: RunBatchInput | null = null): Promise<void> {
    this.#finished(final, (await this.#write(final, batch)) === 'written');
  }

  #finished(final: FinalState | null, reported = false): void {
    this.#forget();
    this.#deps.events.emit('run:finished', {
      flowRunId: this.flowRunId,
      attempt: this.attempt,
      state: final?.state ?? 'CRASHED',
      reason: final?.reason ?? null,
      message: final?.message ?? null,
      exitCode: final?.exitCode ?? null,
      signal: final?.signal ?? null,
      durationMs: Date.now() - this.#claimedAt,
      reported,
    });
  }

  /** A warning for the agent's own log, with the run's secret values masked (a server's error may quote what it refused). */
  #warn(message: string, error?: Error): void {
    let masked = error;
    if (error && this.#mask(error.message) !== error.message) {
      masked = new Error(this.#mask(error.message));
      masked.name = error.name;
    }
    this.#deps.events.emit('agent:warning', { message: this.#mask(message), flowRunId: this.flowRunId, ...(masked ? { error: masked } : {}) });
  }

  /** With `keepSpool` (the lease is lost: the attempt was ours, but ended), what the relay still holds is delivered late. */
  #forget({ keepSpool = false }: { keepSpool?: boolean } = {}): void {
    this.#forgotten = true;
    clearTimeout(this.#fence);
    this.#abort.abort();
    if (this.#relay.discard({ keepSpool })) this.#deps.onSpoolKept?.(this.flowRunId, this.attempt);
  }

  /**
   * Compare-and-set of the run's state, handling the answers of PROTOCOL.md section 4. A `batch`
   * rides along (the same batch id on every retry, so each entry lands once); if the server refuses
   * the write for anything but the run's own state (a bad entry, an older server), the batch goes
   * back to the relay, leaves on its own, and the state is written without it.
   */
  async #write(target: FinalState, riding: RunBatchInput | null = null): Promise<WriteOutcome> {
    let batch = riding;
    const { api, events } = this.#deps;
    const input = () => ({
      flowRunId: this.flowRunId,
      leaseToken: this.#claim.leaseToken,
      expectedVersion: this.#version,
      state: target.state,
      reason: target.reason,
      message: target.message,
      exitCode: target.exitCode,
      signal: target.signal,
      ...(batch === null ? {} : { batch }),
    });
    const inTransit = { signal: this.#abort.signal, onRetry: (error: Error, retryInMs: number) => events.emit('api:unreachable', { operation: 'setFlowRunState', error, retryInMs }) };

    for (let conflicts = 0; ; conflicts++) {
      if (this.#forgotten) return 'forgotten';
      try {
        const run = await retryInTransit(() => api.setFlowRunState(input()), inTransit);
        this.#version = run.version;
        return 'written';
      } catch (error) {
        if (error instanceof RetryAbortedError) return 'forgotten';
        if (!(error instanceof FluxoError)) return this.#drop(`writing ${target.state} for run ${this.flowRunId} failed`, coerceError(error));
        switch (error.code) {
          case 'VERSION_CONFLICT': {
            // The run changed under us (a cancellation), or our own write landed and its answer was lost.
            const current = await retryInTransit(() => api.flowRun(this.flowRunId), inTransit).catch(() => null);
            if (!current) return this.#drop(`run ${this.flowRunId} could not be read back after a version conflict`);
            this.#version = current.version;
            if (current.state === target.state) return 'written';
            if (isFinalState(current.state)) return this.#drop(`run ${this.flowRunId} is already ${current.state}`);
            // Cancelled before the flow started: do not start it. A final state is still written as it is.
            if (current.state === 'CANCELLING' && target.state === 'RUNNING') return 'cancelling';
            if (conflicts >= MAX_CONFLICT_RETRIES) return this.#drop(`run ${this.flowRunId} keeps changing (${current.state}); giving up on writing ${target.state}`);
            continue;
          }
          case 'LEASE_LOST':
            // The entries that rode along were not recorded: back to the relay, which keeps what a lost lease leaves.
            if (batch !== null) this.#relay.giveBack(batch);
            this.leaseLost('state-write');
            return 'forgotten';
          case 'ILLEGAL_TRANSITION':
            return this.#drop(`the server refused ${target.state} for run ${this.flowRunId}: ${error.message}`, error);
          default:
            if (isTokenRefusal(error)) {
              this.#deps.onFatal(error);
              return 'forgotten';
            }
            if (batch !== null) {
              this.#warn(`the server refused ${target.state} with the run's last entries for run ${this.flowRunId}; sending them on their own`, error);
              this.#relay.giveBack(batch);
              batch = null;
              await this.#relay.close();
              continue;
            }
            return this.#drop(`the server refused ${target.state} for run ${this.flowRunId}: [${error.code}] ${error.message}`, error);
        }
      }
    }
  }

  /** Forgets the run (it is not ours to finish any more) and stops its child, if any. */
  #drop(message: string, error?: Error): 'forgotten' {
    this.#warn(message, error);
    this.#forget();
    this.#child?.kill('lease-lost');
    return 'forgotten';
  }
}

