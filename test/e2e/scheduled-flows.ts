// Helpers of the scheduler's crash and replica tests: many flows with every-minute clocks
// registered straight into a database (before any server runs, so the first server's first pass
// has the whole horizon to fill), and the check that every (flow, time) has exactly one run.
import { expect } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { openStore } from '../../server/open-store.js';

export const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };

/** Registers `count` flows `sched-<i>`, each with one every-minute clock, into `database` (migrating it). */
export async function registerScheduledFlows(database: string, count: number): Promise<void> {
  const store = openStore(database);
  try {
    await store.migrate();
    const service = new FluxoService(store, new EventBus());
    for (let i = 0; i < count; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, count - i) }, (_, j) =>
          service.registerFlow(developer, {
            project: 'production',
            name: `sched-${i + j}`,
            storageUri: `file:///tmp/bundles/sched-${i + j}.mjs`,
            sha256: (i + j).toString(16).padStart(64, '0'),
            size: 100,
            entrypoint: 'main',
            schedules: [{ everySeconds: 60, parameters: {} }],
          }),
        ),
      );
    }
  } finally {
    await store.close();
  }
}

/** One row per (flow, scheduled time) of the scheduler's runs, with how many runs it has. */
export interface TimeCount {
  flow: string;
  at: number;
  n: number;
}

/**
 * Checks the scheduler's runs of `flows` flows: exactly one run per (flow, time), each flow's times
 * consecutive minutes (none missing) from its first run to at least `coveredUntil`.
 */
export function checkOneRunPerTime(rows: TimeCount[], flows: number, coveredUntil: number): { runs: number } {
  const duplicates = rows.filter((r) => r.n !== 1);
  expect(duplicates.slice(0, 5), `${duplicates.length} (flow, time) pairs with more than one run`).toEqual([]);
  const byFlow = new Map<string, number[]>();
  for (const row of rows) {
    let times = byFlow.get(row.flow);
    if (!times) byFlow.set(row.flow, (times = []));
    times.push(row.at);
  }
  expect(byFlow.size).toBe(flows);
  const gaps: string[] = [];
  for (const [flow, times] of byFlow) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      if (times[i]! - times[i - 1]! !== 60_000) gaps.push(`${flow}: ${new Date(times[i - 1]!).toISOString()} -> ${new Date(times[i]!).toISOString()}`);
    }
    if (times.at(-1)! < coveredUntil) gaps.push(`${flow}: ends at ${new Date(times.at(-1)!).toISOString()}, before ${new Date(coveredUntil).toISOString()}`);
  }
  expect(gaps.slice(0, 5), `${gaps.length} missing stretches`).toEqual([]);
  return { runs: rows.length };
}
