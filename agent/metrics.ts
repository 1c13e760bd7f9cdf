// Prometheus metrics and the health verdict of an agent, both built from its typed lifecycle
// events (agent/events.ts) like the logging in log-events.ts: nothing in the agent counts for them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentEventEmitter, AgentEvents } from './events.js';

export interface AgentMetricsOptions {
  /**
   * Without an answer from the server for this long, the agent is reported unhealthy. Heartbeats
   * answer every `heartbeatSeconds`, so three intervals is two missed beats.
   */
  staleAfterMs: number;
  /** Bytes the agent's runs hold in spool files now. @default () => 0 */
  spoolBytes?: () => number;
  /** Add prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC). @default true */
  defaultMetrics?: boolean;
  /** Monotonic clock in ms, for tests. @default performance.now */
  monotonicNow?: () => number;
}

/** What `/healthz` answers. */
export interface HealthReport {
  status: 'ok' | 'unavailable';
  /** Why the status is `unavailable`. */
  reason: string | null;
  agentId: string | null;
  name: string | null;
  registered: boolean;
  /** Wall-clock time of the last answer from the server. */
  lastContactAt: string | null;
  secondsSinceContact: number | null;
  runsInProgress: number;
  spoolBytes: number;
}

/**
 * The agent's metrics registry and health, fed by its events. Subscribe before `startAgent` so
 * registration attempts count too.
 *
 * @example
 * const metrics = new AgentMetrics(events, { staleAfterMs: 30_000, spoolBytes: () => agent?.spoolBytes ?? 0 });
 * const text = await metrics.registry.metrics();
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #options: AgentMetricsOptions;
  readonly #now: () => number;
  readonly #unsubscribe: Array<() => void> = [];
  #agent: AgentEvents['agent:ready'] | null = null;
  #stopped: string | null = null;
  #lastContact: { monotonic: number; wall: number } | null = null;
  #inProgress = 0;

  constructor(events: AgentEventEmitter, options: AgentMetricsOptions) {
    this.#options = options;
    this.#now = options.monotonicNow ?? (() => performance.now());
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    const claimed = new Counter({ name: 'fluxo_agent_runs_claimed_total', help: 'Flow runs the agent claimed.', registers });
    const started = new Counter({ name: 'fluxo_agent_runs_started_total', help: 'Flow runs whose flow code was started.', registers });
    const finished = new Counter({
      name: 'fluxo_agent_runs_finished_total',
      help: 'Flow runs that left the agent, by final state and reason (reported=false: the final state could not be written).',
      labelNames: ['state', 'reason', 'reported'] as const,
      registers,
    });
    const leaseLosses = new Counter({ name: 'fluxo_agent_lease_losses_total', help: 'Leases lost (the child was killed), by where the loss was noticed.', labelNames: ['during'] as const, registers });
    const apiErrors = new Counter({
      name: 'fluxo_agent_api_errors_total',
      help: 'Calls to the server that failed, by operation and kind (transport: no answer; otherwise the error code).',
      labelNames: ['operation', 'kind'] as const,
      registers,
    });
    const apiDuration = new Histogram({
      name: 'fluxo_agent_api_request_duration_seconds',
      help: 'Duration of calls to the server that got an answer (claims long-poll up to their wait).',
      labelNames: ['operation'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const dropped = new Counter({ name: 'fluxo_agent_log_lines_dropped_total', help: 'Log lines dropped because the spool budget was spent.', registers });
    const spills = new Counter({ name: 'fluxo_agent_spool_spills_total', help: "Times a run's states and logs began to wait on disk.", registers });
    // prom-client calls `collect` with the gauge as `this`; these read the agent's side.
    const inProgress = (): number => this.#inProgress;
    const spoolBytes = (): number => this.#options.spoolBytes?.() ?? 0;
    new Gauge({
      name: 'fluxo_agent_runs_in_progress',
      help: 'Flow runs the agent holds now.',
      registers,
      collect() {
        this.set(inProgress());
      },
    });
    new Gauge({
      name: 'fluxo_agent_spool_bytes',
      help: 'Bytes of task states and log lines waiting on disk for the server, all runs together.',
      registers,
      collect() {
        this.set(spoolBytes());
      },
    });
    const lastContact = new Gauge({ name: 'fluxo_agent_last_server_contact_timestamp_seconds', help: 'Unix time of the last answer from the server.', registers });
    const registered = new Gauge({ name: 'fluxo_agent_registered', help: '1 while the agent is registered and claiming, else 0.', registers });
    registered.set(0);

    this.#on(events, 'agent:ready', (event) => {
      this.#agent = event;
      this.#stopped = null;
      registered.set(1);
    });
    this.#on(events, 'agent:shutdown', (event) => {
      this.#stopped = event.reason === 'fatal' ? `the agent stopped: ${event.error?.message ?? 'fatal error'}` : 'the agent stopped';
      registered.set(0);
    });
    this.#on(events, 'run:claimed', () => {
      this.#inProgress++;
      claimed.inc();
    });
    this.#on(events, 'run:started', () => started.inc());
    this.#on(events, 'run:finished', (event) => {
      this.#inProgress = Math.max(0, this.#inProgress - 1);
      finished.inc({ state: event.state, reason: event.reason ?? 'none', reported: String(event.reported) });
    });
    this.#on(events, 'lease:lost', (event) => leaseLosses.inc({ during: event.during }));
    this.#on(events, 'api:call', (event) => {
      if (event.outcome !== 'ok') apiErrors.inc({ operation: event.operation, kind: event.outcome === 'transport' ? 'transport' : (event.code ?? 'unknown') });
      if (event.outcome === 'transport') return;
      // A refusal is an answer too: the server (or its proxy) is reachable.
      apiDuration.observe({ operation: event.operation }, event.durationMs / 1000);
      this.#lastContact = { monotonic: this.#now(), wall: Date.now() };
      lastContact.set(this.#lastContact.wall / 1000);
    });
    this.#on(events, 'spool:opened', () => spills.inc());
    this.#on(events, 'logs:dropped', (event) => dropped.inc(event.lines));
  }

  /** Healthy: registered, not stopped, and the server answered within `staleAfterMs`. */
  health(): HealthReport {
    const sinceMs = this.#lastContact ? this.#now() - this.#lastContact.monotonic : null;
    let reason: string | null = null;
    if (this.#stopped) reason = this.#stopped;
    else if (!this.#agent) reason = 'not registered yet';
    else if (sinceMs === null || sinceMs > this.#options.staleAfterMs) {
      reason = `no answer from the server for more than ${Math.round(this.#options.staleAfterMs / 1000)} s`;
    }
    return {
      status: reason ? 'unavailable' : 'ok',
      reason,
      agentId: this.#agent?.agentId ?? null,
      name: this.#agent?.name ?? null,
      registered: this.#agent !== null && this.#stopped === null,
      lastContactAt: this.#lastContact ? new Date(this.#lastContact.wall).toISOString() : null,
      secondsSinceContact: sinceMs === null ? null : Math.round(sinceMs / 100) / 10,
      runsInProgress: this.#inProgress,
      spoolBytes: this.#options.spoolBytes?.() ?? 0,
    };
  }

  /** Stops listening to the agent's events. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  #on<K extends keyof AgentEvents>(events: AgentEventEmitter, name: K, listener: (event: AgentEvents[K]) => void): void {
    // The emitter's generic signatures do not narrow through a type parameter (as in log-events.ts).
    const untyped = events as unknown as { on(name: string, listener: (event: never) => void): void; off(name: string, listener: (event: never) => void): void };
    untyped.on(name, listener);
    this.#unsubscribe.push(() => untyped.off(name, listener));
  }
}
