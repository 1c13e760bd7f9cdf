// Log batches in PostgreSQL: stored once per (run, batch id), under the run's live lease.
// The run's row is locked while a batch is written, so the log ids of one run are assigned and
// committed in the same order: a reader following `id > cursor` never skips a line that commits late.
import type { LogRecord } from '../records.js';
import type { LogLineWrite } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { pgText } from './rows.js';
import { assertLease } from './run-writes.js';
import { sql } from './sql.js';

export async function writeLogs(db: PgDatabase, tenant: string, flowRunId: string, leaseToken: string, batchId: string, lines: LogLineWrite[]): Promise<LogRecord[]> {
  return db.transaction(async (tx) => {
    await assertLease(tx, tenant, flowRunId, leaseToken);
    return recordLogLines(tx, tenant, flowRunId, batchId, lines);
  });
}

/** Appends lines of a run the caller locked and whose lease it checked, once per (run, batchId), inside the caller's transaction. */
export async function recordLogLines(tx: Executor, tenant: string, flowRunId: string, batchId: string, lines: LogLineWrite[]): Promise<LogRecord[]> {
  const fresh = await tx.row(sql`
    INSERT INTO log_batches (flow_run_id, batch_id) VALUES (${flowRunId}, ${pgText(batchId)}) ON CONFLICT DO NOTHING RETURNING 1 AS fresh`);
  if (!fresh || lines.length === 0) return [];
  return insertLogLines(tx, tenant, flowRunId, lines, false);
}

/** Inserts lines as they are (the caller checked the batch id); `late` for a restarted agent's spool (late-entries.ts). */
export async function insertLogLines(tx: Executor, tenant: string, flowRunId: string, lines: LogLineWrite[], late: boolean): Promise<LogRecord[]> {
  if (lines.length === 0) return [];
  const stored = lines.map((line) => ({
    taskRunKey: pgText(line.taskRunKey),
    level: line.level,
    stream: pgText(line.stream),
    message: pgText(line.message),
    timestamp: Math.trunc(line.timestamp),
  }));
  // One insert for the whole batch; identity values follow the ORDER BY, so sorted ids match lines.
  const ids = await tx.rows<{ id: number }>(sql`
    INSERT INTO logs (tenant, flow_run_id, task_run_key, level, stream, message, timestamp, late)
    SELECT ${tenant}::text, ${flowRunId}::text, l.task_run_key, l.level, l.stream, l.message, l.timestamp, ${late}::boolean
    FROM unnest(${stored.map((l) => l.taskRunKey)}::text[], ${stored.map((l) => l.level)}::text[], ${stored.map((l) => l.stream)}::text[],
      ${stored.map((l) => l.message)}::text[], ${stored.map((l) => l.timestamp)}::bigint[]) WITH ORDINALITY AS l(task_run_key, level, stream, message, timestamp, n)
    ORDER BY l.n
    RETURNING id`);
  const sorted = ids.map((r) => Number(r.id)).sort((a, b) => a - b);
  return stored.map((line, i) => ({ id: sorted[i]!, tenant, flowRunId, ...line, late }));
}
