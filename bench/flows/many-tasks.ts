// The task-results benchmark's flows: N trivial tasks in a row, whose results are JSON (the agent
// stores each one) or a Date (not JSON: nothing is stored). The difference is the cost of storing.
import { z } from 'zod';
import { flow, task } from 'fluxo';

const json = task('json', (i: number) => ({ i }));
const notJson = task('not-json', (i: number) => new Date(i));
const parameters = z.object({ tasks: z.number().int().min(1).max(100_000) });

export const manyJson = flow('many-json', { parameters }, async ({ tasks }) => {
  for (let i = 0; i < tasks; i++) await json(i);
});

export const manyNotJson = flow('many-not-json', { parameters }, async ({ tasks }) => {
  for (let i = 0; i < tasks; i++) await notJson(i);
});
