// Clock math at the scheduler's scale: one horizon fill asks nextClockTimes(count 3) of 10,000
// clocks (issue 10). Three shapes, each as 10,000 calls, 5 rounds (the first warms the caches):
// - shared: one cron and zone ('0 3 * * *', America/Sao_Paulo), one fill mark (the memo's best case);
// - spread: the same cron and zone, a different fill mark per clock (minutes apart);
// - scattered: the same cron and zone, fill marks over 30 days in shuffled order (memo misses);
// - distinct: 10,000 different 5-field expressions in 4 zones: the first round parses each and
//   computes its times with croner (the memo's worst case); later rounds hit the memo;
// - interval: everySeconds clocks, for scale.
//
//   npm run build && node dist/bench/clock-math.js [--clocks 10000] [--rounds 5]
import { parseArgs } from 'node:util';
import { nextClockTimes, type ClockTiming } from '../common/clocks.js';

const { values } = parseArgs({ options: { clocks: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } } });
const CLOCKS = Number(values.clocks);
const ROUNDS = Number(values.rounds);
const NOW = Date.parse('2026-12-04T13:00:00Z');
const WEEKDAYS = ['*', '1-5', '0,6', '1', '3', '5', 'MON#1'];
const ZONES = ['America/Sao_Paulo', 'America/New_York', 'Europe/Lisbon', 'UTC'];

function fill(name: string, clocks: ClockTiming[], afterOf: (index: number) => number): void {
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    for (let index = 0; index < clocks.length; index += 1) nextClockTimes(clocks[index]!, afterOf(index), 3);
    rounds.push(performance.now() - started);
  }
  const warm = rounds.slice(1).sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)] ?? rounds[0]!;
  console.log(
    `${name.padEnd(10)} ${clocks.length} calls: first ${rounds[0]!.toFixed(1)} ms, warm median ${median.toFixed(1)} ms (${((median * 1000) / clocks.length).toFixed(2)} µs/call)`,
  );
}

const shared = Array.from({ length: CLOCKS }, () => ({ cron: '0 3 * * *', timezone: 'America/Sao_Paulo' }));
fill('shared', shared, () => NOW);
fill('spread', shared, (index) => NOW + index * 60_000);
// Fill marks over the next 30 days in shuffled order: nearly every call misses the memo.
fill('scattered', shared, (index) => NOW + (((index * 7919) % CLOCKS) / CLOCKS) * 30 * 86_400_000);
const distinct = Array.from({ length: CLOCKS }, (_, index) => ({
  cron: `${index % 60} ${Math.floor(index / 60) % 24} * * ${WEEKDAYS[Math.floor(index / 1440) % WEEKDAYS.length]!}`,
  timezone: ZONES[index % ZONES.length]!,
}));
fill('distinct', distinct, () => NOW);
const intervals = Array.from({ length: CLOCKS }, (_, index) => ({ everySeconds: 60 * (1 + (index % 120)), anchor: index * 1000 }));
fill('interval', intervals, () => NOW);
