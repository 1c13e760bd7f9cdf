// Numbered, append-only migrations of the PostgreSQL store, in step with SQLite's: version N means
// the same schema in both dialects. Never edit a released migration: add one.
import { initial } from './001-initial.js';
import { retention } from './002-retention.js';
import { flowRunLabels } from './003-flow-run-labels.js';
import { serviceTokensAndAudit } from './004-service-tokens-and-audit.js';
import { tenantSecrets } from './005-tenant-secrets.js';
import { schedules } from './006-schedules.js';
import { concurrencyLimits } from './007-concurrency-limits.js';
import { notifications } from './008-notifications.js';
import { taskResults } from './009-task-results.js';
import { materializations } from './010-materializations.js';
import { idempotentAgentWrites } from './011-idempotent-agent-writes.js';
import { historyIndexes } from './012-history-indexes.js';
import { lateRunEntries } from './013-late-run-entries.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [initial, retention, flowRunLabels, serviceTokensAndAudit, tenantSecrets, schedules, concurrencyLimits, notifications, taskResults, materializations, idempotentAgentWrites, historyIndexes, lateRunEntries];
