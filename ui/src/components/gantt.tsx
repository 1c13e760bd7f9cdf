// The task runs of a flow run on a time axis (SVG). Bars start at each task's first start and end
// at its end (or now, for a task still running); the list below the chart carries the same facts
// as text.
import { durationOf, formatDuration, stateGroup, stateLabel } from '../format';

export interface GanttTask {
  key: string;
  state: string;
  startedAt: string | null;
  endedAt: string | null;
  attempts: number;
}

const COLORS: Record<string, string> = { ok: '#1a7f37', bad: '#c62828', live: '#0b5394', wait: '#8a6100', off: '#5f6368' };

export function Gantt({ tasks, runStartedAt, runEndedAt, now }: { tasks: readonly GanttTask[]; runStartedAt: string | null; runEndedAt: string | null; now: number }) {
  const started = tasks.filter((t) => t.startedAt);
  if (started.length === 0) return <p className="muted">No task has started yet.</p>;
  const t0 = Math.min(runStartedAt ? new Date(runStartedAt).getTime() : Infinity, ...started.map((t) => new Date(t.startedAt!).getTime()));
  const t1 = Math.max(runEndedAt ? new Date(runEndedAt).getTime() : now, ...started.map((t) => (t.endedAt ? new Date(t.endedAt).getTime() : now)));
  const span = Math.max(1, t1 - t0);
  const row = 24;
  const labelWidth = 150;
  const width = 720;
  const height = started.length * row + 22;
  const x = (time: number) => labelWidth + ((time - t0) / span) * (width - labelWidth - 8);
  return (
    <figure className="gantt">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Timeline of ${started.length} task runs over ${formatDuration(span)}`}>
        {started.map((task, i) => {
          const start = new Date(task.startedAt!).getTime();
          const end = task.endedAt ? new Date(task.endedAt).getTime() : now;
          const y = i * row + 4;
          return (
            <g key={task.key}>
              <text x={labelWidth - 8} y={y + 14} textAnchor="end" fontSize="12" fill="#202124">
                {task.key.length > 22 ? `${task.key.slice(0, 21)}…` : task.key}
              </text>
              <rect x={x(start)} y={y} width={Math.max(2, x(end) - x(start))} height={row - 8} rx="3" fill={COLORS[stateGroup(task.state)]}>
                <title>{`${task.key}: ${stateLabel(task.state)}, ${formatDuration(end - start)}${task.attempts > 1 ? `, ${task.attempts} attempts` : ''}`}</title>
              </rect>
            </g>
          );
        })}
        <text x={labelWidth} y={height - 4} fontSize="11" fill="#3c4043">
          0 s
        </text>
        <text x={width - 8} y={height - 4} fontSize="11" fill="#3c4043" textAnchor="end">
          {formatDuration(span)}
        </text>
      </svg>
      {/* The same facts as text: read by screen readers, and shown on narrow screens where the chart's labels get small. */}
      <figcaption className="gantt-list">
        <ul>
          {started.map((t) => (
            <li key={t.key}>
              <span className="mono">{t.key}</span> {stateLabel(t.state)}, {formatDuration(durationOf(t.startedAt, t.endedAt, now))}
              {t.attempts > 1 ? `, ${t.attempts} attempts` : ''}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
