// Registering a flow version in PostgreSQL: the project and flow are created on first use, and the
// flow's row is locked while the next version number is chosen, so two registrations of one flow
// at once get numbers n and n+1 (or one no-op), never a duplicate. A new version's clocks update the
// flow's schedule in the same transaction (schedules.ts).
import { newId } from '../../../common/ids.js';
import type { FlowVersionRecord } from '../records.js';
import type { NewFlowVersion } from '../store.js';
import type { PgDatabase } from './database.js';
import { pgText, toFlowVersion, type FlowVersionRow } from './rows.js';
import { applyVersionClocks } from './schedules.js';
import { NOW_MS, sql } from './sql.js';

export async function registerFlowVersion(db: PgDatabase, tenant: string, input: NewFlowVersion): Promise<{ version: FlowVersionRecord; created: boolean }> {
  return db.transaction(async (tx) => {
    await tx.rows(sql`INSERT INTO projects (id, tenant, name, created_at) VALUES (${newId()}, ${tenant}, ${input.project}, ${NOW_MS}) ON CONFLICT (tenant, name) DO NOTHING`);
    const project = (await tx.row<{ id: string }>(sql`SELECT id FROM projects WHERE tenant = ${tenant} AND name = ${input.project}`))!;
    await tx.rows(sql`INSERT INTO flows (id, tenant, project_id, name, created_at) VALUES (${newId()}, ${tenant}, ${project.id}, ${input.name}, ${NOW_MS}) ON CONFLICT (project_id, name) DO NOTHING`);
    const flow = (await tx.row<{ id: string }>(sql`SELECT id FROM flows WHERE project_id = ${project.id} AND name = ${input.name} FOR UPDATE`))!;
    const latest = await tx.row<FlowVersionRow>(sql`SELECT * FROM flow_versions WHERE flow_id = ${flow.id} ORDER BY number DESC LIMIT 1`);
    if (latest && latest.content_hash === input.contentHash) return { version: toFlowVersion(latest), created: false };
    const versionId = newId();
    const row = await tx.row<FlowVersionRow>(sql`
      INSERT INTO flow_versions (id, tenant, flow_id, number, content_hash, storage_uri, sha256, size, entrypoint, parameter_schema,
        default_labels, secrets, retries, retry_delay_seconds, timeout_seconds, description, clocks, missed_runs, catch_up_limit,
        concurrency_limit, when_concurrency_full, created_at)
      VALUES (${versionId}, ${tenant}, ${flow.id}, ${(latest?.number ?? 0) + 1}, ${input.contentHash}, ${input.storageUri}, ${input.sha256},
        ${input.size}, ${input.entrypoint}, ${JSON.stringify(input.parameterSchema)}::json, ${input.defaultLabels}::text[], ${input.secrets}::text[], ${input.retries},
        ${input.retryDelaySeconds}, ${input.timeoutSeconds}::integer, ${pgText(input.description)}::text, ${JSON.stringify(input.clocks)}::json,
        ${input.missedRuns}::text, ${input.catchUpLimit}::integer, ${input.concurrencyLimit ?? null}::integer, ${input.whenConcurrencyFull ?? 'QUEUE'}::text, ${NOW_MS})
      RETURNING *`);
    await applyVersionClocks(tx, tenant, { id: flow.id, project: input.project, name: input.name }, input, versionId, latest ? toFlowVersion(latest) : null);
    return { version: toFlowVersion(row!), created: true };
  });
}
