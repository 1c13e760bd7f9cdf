// Retention: finished runs older than their tenant's setting go, with their task runs, state
// transitions, log lines, log batches and materializations (lineage). Each tenant's setting
// (tenant_settings.retention_days) overrides the server's default; 0 keeps a tenant's history forever. Runs that are not final
// (scheduled, running, cancelling) are never deleted, however old.
//
// Deletion is in bounded batches (by default 1,000 runs per transaction) with a pause between
// them, so writers never wait long behind it: on SQLite each batch is one short write
// transaction, on PostgreSQL rows locked by a writer are skipped and taken by a later pass.
import type { Logger } from '../../common/logger.js';
import type { PruneCounts, Store } from '../store/store.js';
import { pruneAuditEvents } from '../core/audit-log.js';

const DAY_MS = 86_400_000;

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The server's default retention in days. @default 30 */
export const DEFAULT_RETENTION_DAYS = 30;

export interface PruneOptions {
  /** Days a tenant without its own setting keeps finished runs; 0 keeps them forever. */
  defaultDays: number;
  /** Only count what would go. @default false */
  dryRun?: boolean;
  /** Runs deleted per transaction. @default 1000 */
  batchSize?: number;
  /** Pause between two batches, so writers get the database. @default 50 */
  pauseMs?: number;
  /** Stops between batches (a leader that steps down, a server shutting down). */
  signal?: AbortSignal;
}

/** One tenant's share of a pass. */
export interface TenantPruneReport extends PruneCounts {
  tenant: string;
  /** The days that applied (the tenant's own setting, or the default); 0: kept forever. */
  retentionDays: number;
  /** Whether the days are the tenant's own setting. */
  overridden: boolean;
  /** Runs that ended before this (epoch ms, database time) went; null when kept forever. */
  endedBefore: number | null;
}

const zero = (): PruneCounts => ({ runs: 0, taskRuns: 0, stateTransitions: 0, logLines: 0, logBatches: 0, materializations: 0 });

function add(into: PruneCounts, more: PruneCounts): void {
  into.runs += more.runs;
  into.taskRuns += more.taskRuns;
  into.stateTransitions += more.stateTransitions;
  into.logLines += more.logLines;
  into.logBatches += more.logBatches;
  into.materializations += more.materializations;
}

/**
 * One retention pass over every tenant: deletes (or with `dryRun` counts) what is past its
 * tenant's retention. Returns what went per tenant, by tenant name.
 *
 * @example await pruneHistory(store, { defaultDays: 30, dryRun: true })
 */
export async function pruneHistory(store: Store, options: PruneOptions): Promise<TenantPruneReport[]> {
  const batchSize = options.batchSize ?? 1000;
  const pauseMs = options.pauseMs ?? 50;
  if (!Number.isInteger(options.defaultDays) || options.defaultDays < 0) throw new TypeError('defaultDays must be a whole number of days, 0 or more');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a positive integer');
  const now = await store.now();
  const reports: TenantPruneReport[] = [];
  for (const { tenant, retentionDays } of await store.listTenantRetention()) {
    const days = retentionDays ?? options.defaultDays;
    const report: TenantPruneReport = { tenant, retentionDays: days, overridden: retentionDays !== null, endedBefore: null, ...zero() };
    reports.push(report);
    if (days === 0) continue;
    const endedBefore = now - days * DAY_MS;
    report.endedBefore = endedBefore;
    if (options.dryRun) {
      add(report, await store.countPrunableRuns(tenant, endedBefore));
      continue;
    }
    for (;;) {
      if (options.signal?.aborted) return reports;
      const batch = await store.pruneFinishedRuns(tenant, endedBefore, batchSize);
      add(report, batch);
      if (batch.runs < batchSize) break;
      await sleep(pauseMs, options.signal);
    }
    // The audit log follows the tenant's retention too; dry runs do not count it.
    await pruneAuditEvents(store, tenant, endedBefore, batchSize, options.signal);
  }
  // Events without a tenant (callers the proxy could not identify) follow the default.
  if (!options.dryRun && options.defaultDays > 0) await pruneAuditEvents(store, null, now - options.defaultDays * DAY_MS, batchSize, options.signal);
  return reports;
}

export interface RetentionServiceOptions extends Omit<PruneOptions, 'dryRun' | 'signal'> {
  /** Time between passes. @default 3600000 (an hour) */
  intervalMs?: number;
  logger: Logger;
}

/**
 * Runs a retention pass at once and then every `intervalMs`, until stopped. The server starts it
 * on the leader replica only.
 */
export function startRetention(store: Store, options: RetentionServiceOptions): { stop(): Promise<void> } {
  const { logger, intervalMs = 3_600_000, ...prune } = options;
  const aborter = new AbortController();
  let pass: Promise<void> | null = null;
  const run = (): void => {
    if (pass || aborter.signal.aborted) return;
    pass = pruneHistory(store, { ...prune, signal: aborter.signal })
      .then((reports) => {
        for (const r of reports) {
          if (r.runs > 0) logger.info({ tenant: r.tenant, retentionDays: r.retentionDays, runs: r.runs, taskRuns: r.taskRuns, logLines: r.logLines }, 'retention deleted finished runs');
        }
      })
      .catch((error: unknown) => logger.error({ err: error }, 'retention pass failed'))
      .finally(() => (pass = null));
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  run();
  return {
    async stop() {
      clearInterval(timer);
      aborter.abort();
      await pass;
    },
  };
}
