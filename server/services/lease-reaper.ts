// The lease reaper: a dead agent or child is noticed. Runs whose lease expired become CRASHED
// (reason lease-expired; flow-level retries apply) and CANCELLING ones CANCELLED. It runs on the
// leader replica only (leader-services.ts).
import type { Logger } from '../../common/logger.js';
import type { FluxoService } from '../core/service.js';

export function startLeaseReaper(service: FluxoService, intervalMs: number, logger: Logger): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    service
      .reapExpiredLeases()
      .then((runs) => {
        for (const run of runs) logger.warn({ flowRunId: run.id, tenant: run.tenant, state: run.state }, 'lease expired');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'lease reaper pass failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
