// A task that fails on its first attempt and succeeds on its second: the retry path, visible as
// RUNNING → RETRYING → RUNNING → SUCCESS on the task run.
//
//   fluxo run examples/retry.ts
import { flow, getLogger, task } from 'fluxo';

const log = getLogger();

interface Outage {
  failuresLeft: number;
}

/** Fails while the outage lasts, then answers. */
const callFlakyService = task('call-flaky-service', { retries: 1, retryDelaySeconds: 0.2 }, (outage: Outage): string => {
  if (outage.failuresLeft > 0) {
    outage.failuresLeft -= 1;
    throw new Error('simulated outage: the service is unavailable on the first attempt');
  }
  log.info('the service answered');
  return 'ok';
});

export const flakyRetry = flow(
  'flaky-retry',
  { description: 'A task that fails once and succeeds when retried' },
  async () => {
    // The outage lives in this run, not in the module: every run sees one failure.
    const answer = await callFlakyService({ failuresLeft: 1 });
    log.info('flaky service said %s', answer);
    return answer;
  },
);
