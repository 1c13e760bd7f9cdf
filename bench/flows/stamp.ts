// The first thing the user code does: write the wall-clock instant it started, so the benchmark
// can measure schedule-to-start latency (run due -> user code starts) from outside the server.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { flow } from 'fluxo';

export const stamp = flow('stamp', { parameters: z.object({ file: z.string() }) }, async ({ file }) => {
  writeFileSync(file, String(performance.timeOrigin + performance.now()));
});
