// Row shapes of the PostgreSQL tables: `pg` already parses json columns and text[] arrays, and this
// store's pool parses bigint as a number (database.ts), so rows are the shared decoded shapes.
import { raw, type Sql } from './sql.js';

export * from '../rows.js';

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can). A NUL in a message a child printed or an agent
 * reported becomes U+FFFD rather than failing the whole write. An absent optional (undefined) is
 * stored as NULL, as SQLite does.
 */
export function pgText<T extends string | null | undefined>(value: T): Exclude<T, undefined> | (undefined extends T ? null : never) {
  if (value === undefined || value === null) return null as never;
  return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as never;
}

/** The columns of each table the row types above read, in table order. */
const columns = {
  flows: ['id', 'tenant', 'project_id', 'name', 'created_at'],
  flow_versions: [
    'id', 'tenant', 'flow_id', 'number', 'content_hash', 'storage_uri', 'sha256', 'size', 'entrypoint', 'parameter_schema', 'default_labels',
    'secrets', 'retries', 'retry_delay_seconds', 'timeout_seconds', 'description', 'created_at', 'clocks', 'missed_runs', 'catch_up_limit',
    'concurrency_limit', 'when_concurrency_full',
  ],
  flow_runs: [
    'id', 'tenant', 'flow_id', 'flow_version_id', 'state', 'state_reason', 'state_message', 'version', 'attempt', 'parameters', 'labels',
    'priority', 'idempotency_key', 'scheduled_at', 'created_at', 'started_at', 'ended_at', 'exit_code', 'signal', 'agent_id', 'lease_token',
    'lease_expires_at', 'clock_key', 'rerun_of',
  ],
  flow_schedules: ['flow_id', 'tenant', 'project_name', 'flow_name', 'state', 'state_changed_at', 'state_changed_by', 'clock_keys', 'refill_at'],
  agents: ['id', 'tenant', 'name', 'subject', 'labels', 'concurrency', 'last_seen_at', 'created_at'],
} as const;

/**
 * A table's columns as a select list (`alias.` before each when given), for prepared statements:
 * unlike `*`, the list stays the same when a later migration adds a column.
 *
 * @example sql`SELECT ${columnsOf('flow_runs', 'r')} FROM flow_runs r`
 */
export function columnsOf(table: keyof typeof columns, alias?: string): Sql {
  return raw(columns[table].map((c) => (alias ? `${alias}.${c}` : c)).join(', '));
}
