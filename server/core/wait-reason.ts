// "Late" is not a state: a due SCHEDULED run says why it waits.
import type { AgentRecord, FlowRunRecord } from '../store/records.js';

/** Agents count as online when seen within this many lease periods. */
export const ONLINE_LEASE_PERIODS = 3;

/** Explains why a due, unclaimed run waits; null when it is not waiting. */
export function waitReasonOf(run: FlowRunRecord, now: number, agents: AgentRecord[], busy: Map<string, number>, leaseMs: number): string | null {
  if (run.state !== 'SCHEDULED') return null;
  if (run.scheduledAt > now) return `scheduled for ${new Date(run.scheduledAt).toISOString()}`;
  const online = agents.filter((a) => now - a.lastSeenAt <= ONLINE_LEASE_PERIODS * leaseMs);
  const labels = run.labels.length ? `{${run.labels.join(', ')}}` : 'no labels';
  const matching = agents.filter((a) => (run.labels.length === 0 ? a.labels.length === 0 : run.labels.every((l) => a.labels.includes(l))));
  if (matching.length === 0) {
    const known = agents.length ? ` (agents: ${agents.map((a) => `${a.name} {${a.labels.join(', ')}}`).join('; ')})` : ' (no agent has registered)';
    return `no agent has labels matching ${labels}${known}`;
  }
  const matchingOnline = matching.filter((a) => online.includes(a));
  if (matchingOnline.length === 0) return `agents matching ${labels} are offline: ${matching.map((a) => a.name).join(', ')}`;
  const free = matchingOnline.filter((a) => (busy.get(a.id) ?? 0) < a.concurrency);
  if (free.length === 0) return `every agent matching ${labels} is at its concurrency limit: ${matchingOnline.map((a) => a.name).join(', ')}`;
  return `waiting to be claimed by ${free.map((a) => a.name).join(', ')}`;
}
