// fluxo's side of the Prefect 3 side-by-side benchmark (bench/peers/prefect3/): the same user code
// as bench/peers/prefect3/flows.py. The first act of each flow writes the wall-clock instant it
// started, so schedule-to-start is measured from outside the server.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { flow, task } from 'fluxo';

const answer = task('answer', () => 42);
const parameters = z.object({ file: z.string() });
const stampAt = (file: string) => writeFileSync(file, String(performance.timeOrigin + performance.now()));

export const oneTask = flow('one-task', { parameters }, async ({ file }) => {
  stampAt(file);
  await answer();
});

export const fortyTasks = flow('forty-tasks', { parameters }, async ({ file }) => {
  stampAt(file);
  for (let i = 0; i < 40; i++) await answer();
});
