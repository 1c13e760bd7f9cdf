// Two flows for lifecycle tests: `long-sleep` waits (cancel it, or give it a timeout), and
// `fail-always` throws.
//
//   fluxo run examples/sleep.ts --flow long-sleep --param seconds=2
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { flow, getLogger, task } from 'fluxo';

const log = getLogger();

const nap = task('sleep', async (seconds: number): Promise<void> => {
  log.info('sleeping %d s (pid %d)', seconds, process.pid);
  await sleep(seconds * 1000);
  log.info('woke up');
});

export const longSleep = flow(
  'long-sleep',
  {
    description: 'Sleeps for a number of seconds',
    parameters: z.object({ seconds: z.number().min(0).max(86_400).default(300).describe('how long to sleep') }),
  },
  async ({ seconds }) => {
    await nap(seconds);
  },
);

const explode = task('explode', (): never => {
  throw new Error('this flow always fails');
});

export const failAlways = flow('fail-always', { description: 'A flow whose only task throws' }, async () => {
  await explode();
});
