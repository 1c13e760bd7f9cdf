// Late run entries in SQLite (migration 013): one write transaction checks who held the attempt,
// records the batch id once (log_batches, `late:` prefix) and stores the states and lines marked
// late. No lease: the attempt's lease died with the agent process that held it.
import type { Database } from 'better-sqlite3';
import { FluxoError } from '../../../common/errors.js';
import { newId } from '../../../common/ids.js';
import { isFinalTaskRunState } from '../../../contract/states.js';
import { LATE_BATCH_PREFIX, lateNotFoundMessage, lateStateApplies, type LateEntriesResult, type LateEntriesWrite } from '../late-entries-store.js';
import { NOW_MS } from './rows.js';
import { insertLogLines, insertTaskRun, updateTaskRun } from './run-writes.js';
import { statement } from './statements.js';

/** Stores a late batch (LateEntriesStore semantics: store.ts deliverLateEntries). */
export function deliverLateEntries(db: Database, tenant: string, write: LateEntriesWrite): LateEntriesResult {
  return db.transaction((): LateEntriesResult => {
    const now = (statement(db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;
    const run = statement(db, 'SELECT attempt, agent_id FROM flow_runs WHERE tenant = ? AND id = ?').get(tenant, write.flowRunId) as
      { attempt: number; agent_id: string | null } | undefined;
    if (!run) throw new FluxoError('NOT_FOUND', lateNotFoundMessage(write.flowRunId, write.attempt));
    // The attempt's claim: this agent id and this subject. Claims recorded before migration 013 carry
    // no agent id: for the current attempt the run's own agent_id stands in.
    const claimed = statement(db,
      `SELECT 1 FROM state_transitions
       WHERE flow_run_id = ? AND task_run_id IS NULL AND to_state = 'SUBMITTED' AND attempt = ? AND actor = ?
         AND (agent_id = ? OR (agent_id IS NULL AND ? = ? AND ? = ?))
       LIMIT 1`,
    ).get(write.flowRunId, write.attempt, `agent:${write.subject}`, write.agentId, run.attempt, write.attempt, run.agent_id ?? '', write.agentId);
    if (!claimed) throw new FluxoError('NOT_FOUND', lateNotFoundMessage(write.flowRunId, write.attempt));
    const fresh = statement(db, 'INSERT OR IGNORE INTO log_batches (flow_run_id, batch_id) VALUES (?, ?)')
      .run(write.flowRunId, LATE_BATCH_PREFIX + write.batchId).changes === 1;
    if (!fresh) return { recorded: 0, lines: [] };
    const select = statement(db, 'SELECT id, state FROM task_runs WHERE flow_run_id = ? AND key = ?');
    const transition = statement(db,
      `INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, message, actor, attempt, at, late)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`);
    for (const s of write.states) {
      const existing = select.get(write.flowRunId, s.key) as { id: string; state: string } | undefined;
      const final = isFinalTaskRunState(s.state);
      const taskRunId = existing?.id ?? newId();
      if (!existing) insertTaskRun(db, taskRunId, tenant, write.flowRunId, s, final, now);
      else if (lateStateApplies(existing.state, run.attempt, write.attempt)) updateTaskRun(db, taskRunId, s, final, now);
      transition.run(tenant, write.flowRunId, taskRunId, existing?.state ?? null, s.state, s.message, write.actor, s.attempt, now);
    }
    const lines = insertLogLines(db, tenant, write.flowRunId, write.lines, true);
    return { recorded: write.states.length + lines.length, lines };
  }).immediate();
}
