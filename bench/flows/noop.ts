// The trivial flow of the end-to-end benchmark: one task, one log line, no dependencies besides
// the SDK (a 7.7 KB bundle).
import { flow, getLogger, task } from 'fluxo';

const answer = task('answer', () => 42);

export const noop = flow('noop', async () => {
  getLogger().info('the answer is %d', await answer());
});
