// A run that holds its child until cancelled: it writes its pid (so the benchmark can watch the
// process go) and sleeps. Used by bench/cancel-latency.ts.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { flow } from 'fluxo';

export const hold = flow('hold', { parameters: z.object({ file: z.string(), seconds: z.number().default(600) }) }, async ({ file, seconds }) => {
  writeFileSync(file, String(process.pid));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
});
