// 10,000 active schedules: how long the scheduler takes to fill their horizon, and how late (if at
// all) a due run is created.
//
//   npm run build && node dist/bench/scheduler-horizon.js [--database sqlite|postgres] [--schedules 10000] [--hours 3]
//
// The schedules are a mix like an office's: half every 15 minutes (anchors spread over the
// quarter hour), a third hourly crons at minute i % 60 in America/Sao_Paulo, the rest daily crons
// at hour i % 24 there. Three figures:
// - first fill: the wall time of the scheduler's passes, from registration done to no schedule
//   due, and the runs created (the horizon is an hour and at least 3 runs per clock);
// - steady state, injected time: passes every `--step-seconds` of simulated time for `--hours`;
//   each created run's lead = its due time minus the (simulated) time of the pass that created
//   it. A run created after it was due has a negative lead: that is "how late";
// - the wall time of one steady-state pass (p50/p99), what a leader spends every interval.
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.js';
import type { Identity } from '../common/identity.js';
import { EventBus } from '../server/core/events.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import { Scheduler } from '../server/services/scheduler.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { percentiles } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    schedules: { type: 'string', default: '10000' },
    hours: { type: 'string', default: '3' },
    'step-seconds': { type: 'string', default: '60' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const SCHEDULES = Number(values.schedules);
const HOURS = Number(values.hours);
const STEP_MS = Number(values['step-seconds']) * 1000;
const developer: Identity = { subject: 'bench', tenant: 'bench', role: 'developer' };

/** The i-th schedule's clock. */
function clockOf(i: number): Record<string, unknown> {
  const kind = i % 6;
  if (kind < 3) return { everySeconds: 900, anchor: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 900)).toISOString() };
  if (kind < 5) return { cron: `${i % 60} * * * *`, timezone: 'America/Sao_Paulo' };
  return { cron: `${i % 60} ${i % 24} * * *`, timezone: 'America/Sao_Paulo' };
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
try {
  const store = openStore(await backend.fresh('scheduler', 10));
  await store.migrate();
  const events = new EventBus();
  const service = new FluxoService(store, events);
  const registerStarted = performance.now();
  for (let i = 0; i < SCHEDULES; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, SCHEDULES - i) }, (_, j) =>
        service.registerFlow(developer, {
          project: 'production',
          name: `flow-${i + j}`,
          storageUri: 'file:///srv/fluxo/bundles/bench.mjs',
          sha256: '0'.repeat(64),
          size: 1,
          entrypoint: 'flow',
          schedules: [clockOf(i + j)],
        }),
      ),
    );
  }
  const registerSeconds = (performance.now() - registerStarted) / 1000;

  // A quiet logger: the figures are printed at the end.
  const scheduler = new Scheduler(store, events, { logger: createLogger('bench', 'warn') });

  // First fill, at the database's time, as the leader does when it starts.
  const fillStarted = performance.now();
  let firstFill = await scheduler.fillOnce();
  let created = firstFill.created;
  let passes = 1;
  while (firstFill.schedules > 0) {
    firstFill = await scheduler.fillOnce();
    created += firstFill.created;
    passes++;
    if (firstFill.schedules === 0) break;
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const start = firstFill.now;

  // Steady state with injected time: record each created run's lead against the pass that made it.
  const leads: number[] = [];
  let passTime = start;
  events.on('run:changed', (run) => {
    if (run.clockKey !== null) leads.push(run.scheduledAt - passTime);
  });
  const passMs: number[] = [];
  for (let t = start + STEP_MS; t <= start + HOURS * 3_600_000; t += STEP_MS) {
    passTime = t;
    const began = performance.now();
    await scheduler.fillOnce(t);
    passMs.push(performance.now() - began);
  }
  await store.close();

  const late = leads.filter((lead) => lead < 0);
  const sortedLeads = [...leads].sort((a, b) => a - b);
  const leadAt = (q: number): number | null => (sortedLeads.length === 0 ? null : +(sortedLeads[Math.floor(q * (sortedLeads.length - 1))]! / 60_000).toFixed(1));
  console.log(
    JSON.stringify(
      {
        ...backend.describe(),
        schedules: SCHEDULES,
        registerSeconds: +registerSeconds.toFixed(1),
        firstFill: { seconds: +fillSeconds.toFixed(2), passes, runsCreated: created },
        steadyState: {
          simulatedHours: HOURS,
          stepSeconds: STEP_MS / 1000,
          runsCreated: leads.length,
          createdLate: late.length,
          lateMs: late.length > 0 ? percentiles(late.map((lead) => -lead)) : { p50: 0, p99: 0, max: 0, n: 0 },
          // How long before its time each run existed: the smallest, the 1st percentile, the median.
          leadMinutes: { min: leadAt(0), p1: leadAt(0.01), p50: leadAt(0.5) },
          passMs: percentiles(passMs),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await backend.stop();
}
