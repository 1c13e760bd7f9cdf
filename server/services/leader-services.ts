// The services that must run on one replica at a time — the lease reaper and retention — started
// when this replica wins the leader election and stopped when it loses it. With SQLite the one
// server process leads from the start; with PostgreSQL an advisory lock decides (see the store's
// electLeader), and a follower takes over within one retry interval of the leader's death.
import type { Logger } from '../../common/logger.js';
import type { FluxoService } from '../core/service.js';
import { startLeaseReaper } from './lease-reaper.js';
import { startRetention, type RetentionServiceOptions } from './retention.js';

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
  /** Told on every change of leadership (tests, metrics). */
  onChange?: (leader: boolean) => void;
}

/** The running election and, while leading, the services. */
export interface LeaderServices {
  readonly isLeader: boolean;
  /** Stops the services and steps down, freeing the lead for another replica at once. */
  close(): Promise<void>;
}

/**
 * Campaigns for the lead through the store and runs the lease reaper and retention while leading.
 *
 * @example const leader = startLeaderServices({ service, logger, retryMs: 5000, reaperIntervalMs: 1000, retention: { defaultDays: 30 } })
 */
export function startLeaderServices(options: LeaderServicesOptions): LeaderServices {
  const { service, logger } = options;
  let running: { stop(): Promise<void> } | null = null;
  let closing = false;
  const start = (): void => {
    const reaper = startLeaseReaper(service, options.reaperIntervalMs, logger);
    const retention = startRetention(service.store, { ...options.retention, logger });
    running = {
      async stop() {
        reaper.stop();
        await retention.stop();
      },
    };
  };
  const election = service.store.electLeader({
    retryMs: options.retryMs,
    onChange: (leader) => {
      if (leader) {
        logger.info({ services: ['lease-reaper', 'retention'] }, 'became the leader');
        start();
      } else {
        // Stepping down on shutdown is routine; losing the lead while running is worth a warning.
        logger[closing ? 'info' : 'warn']('no longer the leader; stopped the lease reaper and retention');
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
    async close() {
      closing = true;
      const stopping = running;
      await election.close();
      await stopping?.stop();
    },
  };
}
