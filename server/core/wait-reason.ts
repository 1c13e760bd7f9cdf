// "Late" is not a state: a due SCHEDULED run says why it waits, as data (`FlowRun.wait`) and as a
// sentence (`FlowRun.waitReason`, `fluxo runs why`). Causes are checked in a fixed order, the first
// that holds wins: the run's time; its paused schedule; agents (none matches, all offline); the
// concurrency limits the claim enforces (flow, label, tenant: claim-gate.ts answers as the claim
// would); busy agents; otherwise nothing stops it.
import type { WaitCauseKind } from '../../schema/generated/graphql.js';
import { ClaimGate, operatorLimitsOf, type FullLimit, type OperatorLimits } from '../store/claim-gate.js';
import type { SlotCounts } from '../store/limits-store.js';
import type { AgentRecord, ConcurrencyFullPolicy, FlowRunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** Agents count as online when seen within this many lease periods. */
export const ONLINE_LEASE_PERIODS = 3;

/** Why a run waits, as `FlowRun.wait` shows it. */
export interface WaitCauseRecord {
  kind: WaitCauseKind;
  message: string;
  /** For a concurrency cause: `flow`, `label:<label>` or `tenant`. */
  limitScope: string | null;
  running: number | null;
  limit: number | null;
  /** The agents whose labels match the run's (every agent of the tenant for NO_MATCHING_AGENT: none match). */
  agents: AgentRecord[];
}

/** What the causes are decided from, read at one moment (database time). */
export interface WaitFacts {
  now: number;
  /** The tenant's agents. */
  agents: AgentRecord[];
  /** Live leases per agent id. */
  busy: Map<string, number>;
  leaseMs: number;
  /** The run's flow has a schedule and it is PAUSED. */
  schedulePaused: boolean;
  /** The run's version's flow limit. */
  version: { concurrencyLimit: number | null; whenConcurrencyFull: ConcurrencyFullPolicy } | null;
  limits: OperatorLimits;
  counts: SlotCounts;
}

/** True when the agent was seen within the online window, by database time `now`. */
export const isOnline = (agent: AgentRecord, now: number, leaseMs: number): boolean => now - agent.lastSeenAt <= ONLINE_LEASE_PERIODS * leaseMs;

const matches = (run: FlowRunRecord, agent: AgentRecord): boolean =>
  run.labels.length === 0 ? agent.labels.length === 0 : run.labels.every((l) => agent.labels.includes(l));

const cause = (kind: WaitCauseKind, message: string, agents: AgentRecord[], full?: FullLimit): WaitCauseRecord => ({
  kind, message, agents, limitScope: full?.scope ?? null, running: full?.running ?? null, limit: full?.limit ?? null,
});

/** Explains why a run waits; null when it is not SCHEDULED. */
export function waitCauseOf(run: FlowRunRecord, facts: WaitFacts): WaitCauseRecord | null {
  if (run.state !== 'SCHEDULED') return null;
  const { now, agents } = facts;
  const labels = run.labels.length ? `{${run.labels.join(', ')}}` : 'no labels';
  const matching = agents.filter((a) => matches(run, a));
  if (run.scheduledAt > now) return cause('SCHEDULED_LATER', `scheduled for ${new Date(run.scheduledAt).toISOString()}`, matching);
  if (run.clockKey !== null && facts.schedulePaused) {
    return cause('SCHEDULE_PAUSED', "its flow's schedule is paused: resume it (fluxo schedules resume) or cancel the run", matching);
  }
  if (matching.length === 0) {
    const known = agents.length ? ` (agents: ${agents.map((a) => `${a.name} {${a.labels.join(', ')}}`).join('; ')})` : ' (no agent has registered)';
    return cause('NO_MATCHING_AGENT', `no agent has labels matching ${labels}${known}`, agents);
  }
  const online = matching.filter((a) => isOnline(a, now, facts.leaseMs));
  if (online.length === 0) {
    const seen = matching.map((a) => `${a.name} (last seen ${new Date(a.lastSeenAt).toISOString()})`).join(', ');
    return cause('AGENTS_OFFLINE', `agents matching ${labels} are offline: ${seen}`, matching);
  }
  const gate = new ClaimGate(facts.limits, facts.counts);
  const decision = gate.decide({
    flowId: run.flowId,
    labels: run.labels,
    concurrencyLimit: facts.version?.concurrencyLimit ?? null,
    whenConcurrencyFull: facts.version?.whenConcurrencyFull ?? 'QUEUE',
  });
  if (decision.kind !== 'claim') {
    const { full } = decision;
    const of = `${full.running} of ${full.limit} running`;
    if (full.scope === 'flow') {
      const then = decision.kind === 'skip' ? '; the next claim ends it CANCELLED (whenFull: skip)' : '';
      return cause('FLOW_CONCURRENCY', `the flow's concurrency limit is full (${of})${then}`, matching, full);
    }
    if (full.scope === 'tenant') return cause('TENANT_CONCURRENCY', `the tenant's concurrency limit is full (${of})`, matching, full);
    return cause('LABEL_CONCURRENCY', `the concurrency limit ${full.scope} is full (${of})`, matching, full);
  }
  const free = online.filter((a) => (facts.busy.get(a.id) ?? 0) < a.concurrency);
  if (free.length === 0) {
    return cause('AGENTS_BUSY', `every agent matching ${labels} is at its concurrency limit: ${online.map((a) => `${a.name} (${a.concurrency})`).join(', ')}`, matching);
  }
  return cause('CLAIMABLE', `waiting to be claimed by ${free.map((a) => a.name).join(', ')}`, matching);
}

/** Most agents of a tenant a wait cause reads. */
const AGENTS_READ = 500;

/** Reads what {@link waitCauseOf} needs and explains why `run` waits; null when it does not. */
export async function explainWait(store: Store, run: FlowRunRecord, leaseMs: number): Promise<WaitCauseRecord | null> {
  if (run.state !== 'SCHEDULED') return null;
  const [now, agents, busy, schedule, version, limitRows, counts] = await Promise.all([
    store.now(),
    store.listAgents(run.tenant, { first: AGENTS_READ }),
    store.countLeasedRuns(run.tenant),
    run.clockKey === null ? null : store.getFlowSchedule(run.tenant, run.flowId),
    store.getFlowVersion(run.tenant, run.flowVersionId),
    store.limits.list(run.tenant),
    store.limits.countHoldingSlots(run.tenant),
  ]);
  const limits = operatorLimitsOf(limitRows);
  return waitCauseOf(run, { now, agents: agents.nodes, busy, leaseMs, schedulePaused: schedule?.state === 'PAUSED', version, limits, counts });
}

/**
 * The sentence of the cause without limits or schedules (the facts a caller has at hand).
 * @deprecated use {@link explainWait}, which also names limits and paused schedules.
 */
export function waitReasonOf(run: FlowRunRecord, now: number, agents: AgentRecord[], busy: Map<string, number>, leaseMs: number): string | null {
  const none = { tenant: 0, byFlow: new Map<string, number>(), byLabel: new Map<string, number>() };
  return waitCauseOf(run, { now, agents, busy, leaseMs, schedulePaused: false, version: null, limits: { tenant: null, labels: new Map() }, counts: none })?.message ?? null;
}
