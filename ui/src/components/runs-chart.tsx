// Runs by state over time: stacked bars per hour, drawn as inline SVG (no chart library, nothing
// fetched). The bars carry <title>s for pointer users; the figure's caption and the table below it
// give the same numbers to everyone else.
import { stateGroup } from '../format';

const GROUPS = [
  { key: 'ok', label: 'Succeeded', color: '#1a7f37' },
  { key: 'bad', label: 'Failed, crashed or timed out', color: '#c62828' },
  { key: 'live', label: 'Running', color: '#0b5394' },
  { key: 'wait', label: 'Scheduled', color: '#8a6100' },
  { key: 'off', label: 'Cancelled', color: '#5f6368' },
] as const;

export interface ChartRun {
  state: string;
  createdAt: string;
}

/** Counts per hour bucket and state group over the last `hours` hours. */
export function bucketRuns(runs: readonly ChartRun[], hours: number, now = Date.now()): { start: number; counts: Record<string, number> }[] {
  const hour = 3_600_000;
  const end = Math.ceil(now / hour) * hour;
  const buckets = Array.from({ length: hours }, (_, i) => ({ start: end - (hours - i) * hour, counts: Object.fromEntries(GROUPS.map((g) => [g.key, 0])) as Record<string, number> }));
  for (const run of runs) {
    const index = Math.floor((new Date(run.createdAt).getTime() - (end - hours * hour)) / hour);
    const bucket = buckets[index];
    if (bucket) bucket.counts[stateGroup(run.state)]! += 1;
  }
  return buckets;
}

export function RunsChart({ runs, hours = 24, truncated }: { runs: readonly ChartRun[]; hours?: number; truncated: boolean }) {
  const buckets = bucketRuns(runs, hours);
  const max = Math.max(1, ...buckets.map((b) => Object.values(b.counts).reduce((a, c) => a + c, 0)));
  const width = 720;
  const height = 180;
  const left = 32;
  const bottom = 20;
  const barWidth = (width - left) / hours;
  const totals = Object.fromEntries(GROUPS.map((g) => [g.key, buckets.reduce((sum, b) => sum + (b.counts[g.key] ?? 0), 0)]));
  const summary = GROUPS.map((g) => `${totals[g.key]} ${g.label.toLowerCase()}`).join(', ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Runs created per hour over the last ${hours} hours: ${summary}`}>
        <line x1={left} x2={width} y1={height - bottom} y2={height - bottom} stroke="#5f6368" />
        <text x={left - 6} y={12} textAnchor="end" fontSize="11" fill="#3c4043">
          {max}
        </text>
        <text x={left - 6} y={height - bottom} textAnchor="end" fontSize="11" fill="#3c4043">
          0
        </text>
        {buckets.map((bucket, i) => {
          let y = height - bottom;
          const x = left + i * barWidth + 1;
          const label = new Date(bucket.start).getHours().toString().padStart(2, '0');
          return (
            <g key={bucket.start}>
              {GROUPS.map((group) => {
                const count = bucket.counts[group.key] ?? 0;
                if (count === 0) return null;
                const h = (count / max) * (height - bottom - 16);
                y -= h;
                return (
                  <rect key={group.key} x={x} y={y} width={Math.max(1, barWidth - 2)} height={h} fill={group.color}>
                    <title>{`${label}:00 — ${count} ${group.label.toLowerCase()}`}</title>
                  </rect>
                );
              })}
              {i % 3 === 0 ? (
                <text x={x + barWidth / 2} y={height - 5} textAnchor="middle" fontSize="11" fill="#3c4043">
                  {label}h
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          {GROUPS.map((group) => (
            <li key={group.key}>
              <span className="swatch" style={{ background: group.color }} aria-hidden="true" />
              {group.label}: {totals[group.key]}
            </li>
          ))}
        </ul>
        {truncated ? <p className="muted">Only the newest runs are counted: more runs were created in this window than one page holds.</p> : null}
      </figcaption>
    </figure>
  );
}
