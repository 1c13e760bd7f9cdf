// Claiming due runs in PostgreSQL: one statement. `FOR UPDATE SKIP LOCKED` lets many replicas and
// agents claim at once without waiting on each other; a row another claimer holds is skipped, and
// one that claimer already moved out of SCHEDULED fails the re-check, so a run is claimed once.
// The lock on the agent's row orders a claim against a move of the agent's name (agents.ts). It is
// the lock `seen` needs anyway (FOR NO KEY UPDATE): a share lock upgraded by `seen` deadlocked two
// claims of one agent, each holding the share lock the other's update waited for.
//
// Concurrency limits need counts no row lock can protect (two claimers would each see one free
// slot), so a tenant with limits (an operator's, or any version declaring a flow limit) claims
// through claimLimited: one transaction under a per-tenant advisory lock that counts, claims and
// skips run by run (claim-gate.ts). The one-statement claim refuses such a tenant's runs outright
// (`unlimited`), so tenants without limits keep it, lock-free.
import { newToken } from '../../../common/ids.js';
import { agentNotFound } from '../../core/agent-names.js';
import { CLAIM_SCAN_LIMIT, ClaimGate, skipMessage } from '../claim-gate.js';
import type { ConcurrencyFullPolicy, FlowRunRecord } from '../records.js';
import type { Claim } from '../store.js';
import { CLAIM_LIMITS_LOCK_CLASS } from './advisory-locks.js';
import type { Executor, PgDatabase } from './database.js';
import { countHoldingSlots, readOperatorLimits } from './limits.js';
import { columnsOf, toFlowRun, type FlowRunRow } from './rows.js';
import { NOW_MS, prepared, sql } from './sql.js';

/** True (as SQL) when the tenant has a concurrency limit of any kind (index flow_versions_limited, primary key of concurrency_limits). */
const limitedTenant = (tenant: string) => sql`(EXISTS (SELECT 1 FROM concurrency_limits WHERE tenant = ${tenant}::text)
  OR EXISTS (SELECT 1 FROM flow_versions WHERE tenant = ${tenant}::text AND concurrency_limit IS NOT NULL))`;

/** Claims due runs; runs ended by a SKIP flow limit are pushed to `skipped`. */
export async function claimFlowRuns(
  db: PgDatabase, tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number, skipped: FlowRunRecord[] = [],
  requestId: string | null = null,
): Promise<Claim[]> {
  const agentId = agent.id;
  if (requestId !== null) {
    const replayed = await replayClaim(db, tenant, agent, requestId, leaseMs);
    if (replayed.length > 0) return replayed;
  }
  // Lease tokens come from this process's CSPRNG, as in SQLite; the n-th claimed run (in claim order) gets the n-th.
  const tokens = Array.from({ length: max }, () => newToken());
  // Labels are routing only: a run goes to an agent whose labels are a superset of the run's
  // (`<@`), and a run without labels only to an agent without labels.
  const rows = await db.rows<FlowRunRow & { n: number }>(prepared('claim-flow-runs', sql`
    WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    holder AS (SELECT id FROM agents WHERE tenant = ${tenant}::text AND id = ${agentId}::text AND subject = ${agent.subject}::text FOR NO KEY UPDATE),
    unlimited AS MATERIALIZED (SELECT NOT ${limitedTenant(tenant)} AS yes),
    due AS (
      SELECT id, priority, scheduled_at FROM flow_runs
      WHERE tenant = ${tenant} AND state = 'SCHEDULED' AND scheduled_at <= (SELECT now FROM clock) AND EXISTS (SELECT 1 FROM holder)
        AND (SELECT yes FROM unlimited)
        AND labels <@ ${labels}::text[] AND (cardinality(labels) > 0 OR cardinality(${labels}::text[]) = 0)
      ORDER BY priority DESC, scheduled_at, id
      LIMIT ${max}::integer
      FOR UPDATE SKIP LOCKED
    ),
    numbered AS (SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_at, id) AS n FROM due),
    claimed AS (
      UPDATE flow_runs r SET state = 'SUBMITTED', version = r.version + 1, agent_id = ${agentId}::text,
        lease_token = (${tokens}::text[])[numbered.n], lease_expires_at = clock.now + ${leaseMs}::bigint,
        state_reason = NULL, state_message = NULL, claim_request_id = ${requestId}::text
      FROM numbered, clock
      WHERE r.id = numbered.id
      RETURNING r.*, numbered.n
    ),
    recorded AS (
      INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, actor, attempt, at, agent_id)
      SELECT tenant, id, 'SCHEDULED', 'SUBMITTED', ${`agent:${agent.subject}`}::text,
        attempt, (SELECT now FROM clock), ${agentId}::text
      FROM claimed ORDER BY n
    ),
    seen AS (UPDATE agents SET last_seen_at = (SELECT now FROM clock) WHERE id = ${agentId}::text)
    SELECT ${columnsOf('flow_runs')}, n FROM claimed ORDER BY n`));
  if (rows.length === 0) {
    // Nothing claimed: say so, or that the agent is not the caller's (any more), or claim under
    // the tenant's limits. Outside the claim's lock, which only matters when runs were claimed.
    const held = await db.row<{ id: string; limited: boolean }>(prepared('agent-held-limited', sql`
      SELECT id, ${limitedTenant(tenant)} AS limited FROM agents WHERE tenant = ${tenant} AND id = ${agentId} AND subject = ${agent.subject}`));
    if (!held) throw agentNotFound(agentId);
    if (held.limited) return claimLimited(db, tenant, agent, labels, max, leaseMs, skipped, requestId);
  }
  return rows.map(({ n: _n, ...row }) => ({ run: toFlowRun(row), leaseToken: row.lease_token!, leaseExpiresAt: row.lease_expires_at! }));
}

interface CandidateRow {
  id: string;
  flow_id: string;
  labels: string[];
  concurrency_limit: number | null;
  when_concurrency_full: string;
}

/**
 * The claim of a tenant with limits: under the tenant's advisory lock (so the counts it reads stay
 * true until it commits), reads up to CLAIM_SCAN_LIMIT due runs in claim order and asks the gate
 * about each, so a blocked run does not stop later ones.
 */
async function claimLimited(
  db: PgDatabase, tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number, skipped: FlowRunRecord[],
  requestId: string | null,
): Promise<Claim[]> {
  const actor = `agent:${agent.subject}`;
  return db.transaction(async (tx) => {
    await tx.rows(sql`SELECT pg_advisory_xact_lock(${CLAIM_LIMITS_LOCK_CLASS}::integer, hashtext(${tenant}::text))`);
    const holder = await tx.row<{ id: string }>(sql`
      SELECT id FROM agents WHERE tenant = ${tenant} AND id = ${agent.id} AND subject = ${agent.subject} FOR NO KEY UPDATE`);
    if (!holder) throw agentNotFound(agent.id);
    const now = (await tx.row<{ now: number }>(sql`SELECT ${NOW_MS} AS now`))!.now;
    const limits = await readOperatorLimits(tx, tenant);
    const counts = await countHoldingSlots(tx, tenant, limits.labels.size > 0);
    const gate = new ClaimGate(limits, counts);
    // Runs of flows whose limit was full when the claim began, and that queue, are left out in SQL:
    // a long blocked queue is passed over inside PostgreSQL.
    const holding = JSON.stringify(Object.fromEntries(counts.byFlow));
    const due = (limit: number, offset: number) => tx.rows<CandidateRow>(sql`
      SELECT r.id, r.flow_id, r.labels, v.concurrency_limit, v.when_concurrency_full
      FROM flow_runs r JOIN flow_versions v ON v.id = r.flow_version_id
      WHERE r.tenant = ${tenant} AND r.state = 'SCHEDULED' AND r.scheduled_at <= ${now}::bigint
        AND r.labels <@ ${labels}::text[] AND (cardinality(r.labels) > 0 OR cardinality(${labels}::text[]) = 0)
        AND (v.concurrency_limit IS NULL OR v.when_concurrency_full = 'SKIP'
          OR v.concurrency_limit > coalesce((${holding}::jsonb ->> r.flow_id)::integer, 0))
      ORDER BY r.priority DESC, r.scheduled_at, r.id
      LIMIT ${limit}::integer OFFSET ${offset}::integer`);
    const claims: Claim[] = [];
    // Growing pages up to CLAIM_SCAN_LIMIT; claimed and skipped runs leave the due set, so the next
    // page starts after the runs read that stayed.
    let removed = 0;
    const candidates = async function* (): AsyncGenerator<CandidateRow> {
      for (let read = 0, size = Math.max(max, 32); read < CLAIM_SCAN_LIMIT; size *= 2) {
        const page = await due(Math.min(size, CLAIM_SCAN_LIMIT - read), read - removed);
        yield* page;
        read += page.length;
        if (page.length < size) return;
      }
    };
    for await (const row of candidates()) {
      if (claims.length >= max) break;
      const candidate = { flowId: row.flow_id, labels: row.labels, concurrencyLimit: row.concurrency_limit, whenConcurrencyFull: row.when_concurrency_full as ConcurrencyFullPolicy };
      const decision = gate.decide(candidate);
      if (decision.kind === 'wait') continue;
      if (decision.kind === 'skip') {
        const run = await skipRun(tx, row.id, skipMessage(decision.full), now);
        // Skipped or gone (cancelled meanwhile): either way it left the due set.
        removed++;
        if (run) skipped.push(run);
        continue;
      }
      // The state re-check: a user may have cancelled it, or a claimer without the lock (a tenant
      // that had no limits a moment ago) taken it.
      const claimed = await tx.row<FlowRunRow>(sql`
        UPDATE flow_runs SET state = 'SUBMITTED', version = version + 1, agent_id = ${agent.id}::text, lease_token = ${newToken()}::text,
          lease_expires_at = ${now + leaseMs}::bigint, state_reason = NULL, state_message = NULL, claim_request_id = ${requestId}::text
        WHERE id = ${row.id} AND state = 'SCHEDULED'
        RETURNING ${columnsOf('flow_runs')}`);
      removed++;
      if (!claimed) continue;
      gate.take(candidate);
      await tx.rows(sql`
        INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, actor, attempt, at, agent_id)
        VALUES (${tenant}::text, ${row.id}::text, 'SCHEDULED', 'SUBMITTED', ${actor}::text, ${claimed.attempt}::integer, ${now}::bigint, ${agent.id}::text)`);
      claims.push({ run: toFlowRun(claimed), leaseToken: claimed.lease_token!, leaseExpiresAt: claimed.lease_expires_at! });
    }
    await tx.rows(sql`UPDATE agents SET last_seen_at = ${now}::bigint WHERE id = ${agent.id}`);
    return claims;
  });
}

/**
 * The runs an earlier claim with `requestId` handed to the agent that it never started (its answer
 * was lost): still SUBMITTED under a live lease. Their leases are renewed, as the agent fences
 * itself from the moment it sent this request; same lease tokens, no transition. The id is on the
 * run's row, so a retry that reaches another replica finds them too. Only the agent's holder may
 * replay (the same check as the claim's).
 */
async function replayClaim(db: PgDatabase, tenant: string, agent: { id: string; subject: string }, requestId: string, leaseMs: number): Promise<Claim[]> {
  const rows = await db.rows<FlowRunRow>(sql`
    WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now)
    UPDATE flow_runs SET lease_expires_at = clock.now + ${leaseMs}::bigint
    FROM clock
    WHERE agent_id = ${agent.id}::text AND claim_request_id = ${requestId}::text AND state = 'SUBMITTED' AND tenant = ${tenant}::text
      AND lease_expires_at > clock.now
      AND EXISTS (SELECT 1 FROM agents WHERE tenant = ${tenant}::text AND id = ${agent.id}::text AND subject = ${agent.subject}::text)
    RETURNING ${columnsOf('flow_runs', 'flow_runs')}`);
  return rows
    .sort((a, b) => b.priority - a.priority || a.scheduled_at - b.scheduled_at || (a.id < b.id ? -1 : 1))
    .map((row) => ({ run: toFlowRun(row), leaseToken: row.lease_token!, leaseExpiresAt: row.lease_expires_at! }));
}

/** Ends a due run whose flow limit is full and says SKIP: CANCELLED with reason `concurrency-skip`. */
async function skipRun(tx: Executor, id: string, message: string, now: number): Promise<FlowRunRecord | null> {
  const row = await tx.row<FlowRunRow>(sql`
    UPDATE flow_runs SET state = 'CANCELLED', state_reason = 'concurrency-skip', state_message = ${message}::text, version = version + 1, ended_at = ${now}::bigint
    WHERE id = ${id} AND state = 'SCHEDULED'
    RETURNING ${columnsOf('flow_runs')}`);
  if (!row) return null;
  await tx.rows(sql`
    INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, reason, message, actor, attempt, at)
    VALUES (${row.tenant}::text, ${id}::text, 'SCHEDULED', 'CANCELLED', 'concurrency-skip', ${message}::text, 'server:concurrency', ${row.attempt}::integer, ${now}::bigint)`);
  return toFlowRun(row);
}
