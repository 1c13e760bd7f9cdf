// The services that must run on one replica at a time — the lease reaper, retention and the
// scheduler — started
// when this replica wins the leader election and stopped when it loses it. With SQLite the one
// server process leads from the start; with PostgreSQL an advisory lock decides (see the store's
// electLeader), and a follower takes over within one retry interval of the leader's death.
import type { Logger } from '../../common/logger.js';
import type { FluxoService } from '../core/service.js';
import { startLeaseReaper } from './lease-reaper.js';
import { startNotifier, type NotifierOptions } from './notifier.js';
import { startRetention, type RetentionServiceOptions } from './retention.js';
import { startScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';

/** Settings of {@link startLeaderServices}. */
export interface LeaderServicesOptions {
  service: FluxoService;
  logger: Logger;
  /** How often a follower tries to take the lead (and a leader checks it still has it). */
  retryMs: number;
  /** How often the lease reaper looks for expired leases. */
  reaperIntervalMs: number;
  /** Retention settings (its passes run on the leader). */
  retention: Omit<RetentionServiceOptions, 'logger'>;
  /** Scheduler settings (it fills schedules' horizons on the leader). @default its defaults */
  scheduler?: Omit<SchedulerOptions, 'logger'>;
  /** Notifier settings (it sends notification deliveries on the leader); absent: no notifier. */
  notifier?: Omit<NotifierOptions, 'logger'>;
  /** Told on every change of leadership (tests, metrics). */
  onChange?: (leader: boolean) => void;
}

/** The running election and, while leading, the services. */
export interface LeaderServices {
  readonly isLeader: boolean;
  /** The scheduler while this replica leads (tests, metrics); null otherwise. */
  readonly scheduler: Scheduler | null;
  /** Stops the services and steps down, freeing the lead for another replica at once. */
  close(): Promise<void>;
}

/**
 * Campaigns for the lead through the store and runs the lease reaper, retention and the scheduler
 * while leading.
 *
 * @example const leader = startLeaderServices({ service, logger, retryMs: 5000, reaperIntervalMs: 1000, retention: { defaultDays: 30 } })
 */
export function startLeaderServices(options: LeaderServicesOptions): LeaderServices {
  const { service, logger } = options;
  let running: { scheduler: Scheduler; stop(): Promise<void> } | null = null;
  let closing = false;
  const start = (): void => {
    const reaper = startLeaseReaper(service, options.reaperIntervalMs, logger);
    const retention = startRetention(service.store, { ...options.retention, logger });
    const scheduler = startScheduler(service.store, service.events, { ...options.scheduler, logger });
    const notifier = options.notifier ? startNotifier(service.store, service.events, { ...options.notifier, logger }) : null;
    running = {
      scheduler,
      async stop() {
        reaper.stop();
        await Promise.all([retention.stop(), scheduler.stop(), notifier?.stop()]);
      },
    };
  };
  const election = service.store.electLeader({
    retryMs: options.retryMs,
    onChange: (leader) => {
      if (leader) {
        logger.info({ services: ['lease-reaper', 'retention', 'scheduler', ...(options.notifier ? ['notifier'] : [])] }, 'became the leader');
        start();
      } else {
        // Stepping down on shutdown is routine; losing the lead while running is worth a warning.
        logger[closing ? 'info' : 'warn']('no longer the leader; stopped the lease reaper, retention and the scheduler');
        const stopping = running;
        running = null;
        void stopping?.stop();
      }
      options.onChange?.(leader);
    },
    onError: (error) => logger.warn({ err: error.message }, 'leader election: the database is unreachable; retrying'),
  });
  return {
    get isLeader() {
      return election.isLeader;
    },
    get scheduler() {
      return running?.scheduler ?? null;
    },
    async close() {
      closing = true;
      const stopping = running;
      await election.close();
      await stopping?.stop();
    },
  };
}
