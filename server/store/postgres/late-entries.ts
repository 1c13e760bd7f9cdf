// Late run entries in PostgreSQL (migration 013): SQLite's late-entries.ts in one transaction that
// holds the run's row lock, so a late batch and the run's live writes (a later attempt's task
// states, its log batches) take turns, and the run's log ids are assigned and committed in order
// (logs.ts). No lease: the attempt's lease died with the agent process that held it.
import { FluxoError } from '../../../common/errors.js';
import { newId } from '../../../common/ids.js';
import { isFinalTaskRunState } from '../../../contract/states.js';
import { LATE_BATCH_PREFIX, lateNotFoundMessage, lateStateApplies, type LateEntriesResult, type LateEntriesWrite } from '../late-entries-store.js';
import type { PgDatabase } from './database.js';
import { insertLogLines } from './logs.js';
import { pgText } from './rows.js';
import { NOW_MS, sql } from './sql.js';

/** Stores a late batch (store.ts deliverLateEntries). */
export async function deliverLateEntries(db: PgDatabase, tenant: string, write: LateEntriesWrite): Promise<LateEntriesResult> {
  return db.transaction(async (tx) => {
    const run = await tx.row<{ attempt: number; agent_id: string | null; now: number }>(sql`
      WITH locked AS (SELECT attempt, agent_id FROM flow_runs WHERE tenant = ${tenant} AND id = ${write.flowRunId} FOR UPDATE)
      SELECT locked.*, ${NOW_MS} AS now FROM locked`);
    if (!run) throw new FluxoError('NOT_FOUND', lateNotFoundMessage(write.flowRunId, write.attempt));
    const now = Number(run.now);
    // The attempt's claim: this agent id and this subject. Claims recorded before migration 013 carry
    // no agent id: for the current attempt the run's own agent_id stands in.
    const currentHolder = run.attempt === write.attempt && run.agent_id === write.agentId;
    const claimed = await tx.row(sql`
      SELECT 1 AS held FROM state_transitions
      WHERE flow_run_id = ${write.flowRunId} AND task_run_id IS NULL AND to_state = 'SUBMITTED' AND attempt = ${write.attempt}::integer
        AND actor = ${`agent:${write.subject}`} AND (agent_id = ${write.agentId} OR (agent_id IS NULL AND ${currentHolder}::boolean))
      LIMIT 1`);
    if (!claimed) throw new FluxoError('NOT_FOUND', lateNotFoundMessage(write.flowRunId, write.attempt));
    const fresh = await tx.row(sql`
      INSERT INTO log_batches (flow_run_id, batch_id) VALUES (${write.flowRunId}, ${pgText(LATE_BATCH_PREFIX + write.batchId)})
      ON CONFLICT DO NOTHING RETURNING 1 AS fresh`);
    if (!fresh) return { recorded: 0, lines: [] };
    // One statement per state, in order: a batch may hold several states of one task, and each
    // transition records the state before it.
    for (const s of write.states) {
      const key = pgText(s.key);
      const message = pgText(s.message);
      const final = isFinalTaskRunState(s.state);
      const existing = await tx.row<{ id: string; state: string }>(sql`SELECT id, state FROM task_runs WHERE flow_run_id = ${write.flowRunId} AND key = ${key}`);
      const taskRunId = existing?.id ?? newId();
      if (!existing) {
        await tx.rows(sql`
          INSERT INTO task_runs (id, tenant, flow_run_id, key, task_name, map_index, state, state_message, attempts, started_at, ended_at,
            result_uri, result_sha256, result_size, inputs_hash)
          VALUES (${taskRunId}, ${tenant}, ${write.flowRunId}, ${key}, ${pgText(s.taskName)}, ${s.mapIndex}::integer, ${s.state}, ${message},
            ${s.attempt}::integer, ${now}::bigint, ${final ? now : null}::bigint, ${pgText(s.result?.uri ?? null)}::text,
            ${s.result?.sha256 ?? null}::text, ${s.result?.size ?? null}::bigint, ${s.inputsHash ?? null}::text)`);
      } else if (lateStateApplies(existing.state, run.attempt, write.attempt)) {
        await tx.rows(sql`
          UPDATE task_runs SET state = ${s.state}, state_message = ${message}, attempts = GREATEST(attempts, ${s.attempt}::integer),
            ended_at = ${final ? now : null}::bigint, result_uri = ${pgText(s.result?.uri ?? null)}::text, result_sha256 = ${s.result?.sha256 ?? null}::text,
            result_size = ${s.result?.size ?? null}::bigint, inputs_hash = ${s.inputsHash ?? null}::text
          WHERE id = ${taskRunId}`);
      }
      await tx.rows(sql`
        INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, message, actor, attempt, at, late)
        VALUES (${tenant}, ${write.flowRunId}, ${taskRunId}, ${existing?.state ?? null}::text, ${s.state}, ${message}::text,
          ${write.actor}, ${s.attempt}::integer, ${now}::bigint, true)`);
    }
    const lines = await insertLogLines(tx, tenant, write.flowRunId, write.lines, true);
    return { recorded: write.states.length + lines.length, lines };
  });
}
