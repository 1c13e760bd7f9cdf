// bench/data-stream.ts: a flow that writes a CSV file of `mib` MiB in its working directory and
// lands it, so its bytes cross from the child to the agent in `data-file` chunks.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { flow } from 'fluxo';
import { writeToLake } from 'fluxo/data';

export const dataStream = flow('data-stream', { parameters: z.object({ mib: z.number().int().min(1).default(64) }) }, async ({ mib }) => {
  const line = `${'x'.repeat(1000)};${'y'.repeat(1020)}\n`;
  const chunk = line.repeat(512);
  writeFileSync('big.csv', 'a;b\n');
  for (let i = 0; i < mib; i++) writeFileSync('big.csv', chunk, { flag: 'a' });
  const started = performance.now();
  await writeToLake('bench', 'stream', { csv: 'big.csv', delimiter: ';' });
  console.log(JSON.stringify({ mib, ms: performance.now() - started }));
});
