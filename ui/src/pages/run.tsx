// One run: what it is doing or did (state, timeline of its tasks, state history), why it waits,
// why it failed, its logs live over the flowRunLogs subscription, and what the viewer's role may do
// about it (cancel, restart, re-run).
import { useEffect, useMemo, useRef, useState } from 'react';
import { restartableStates } from '../../../contract/states.js';
import { ApiError, gql, subscribe } from '../api';
import { ErrorBox, Labels, Loading, PageHeader, StateBadge } from '../components/common';
import { Gantt } from '../components/gantt';
import { durationOf, FINAL_STATES, formatDuration, formatTime } from '../format';
import { shortId } from '../format';
import { can } from '../permissions';
import { Link, navigate } from '../router';
import type { Viewer } from '../session';
import { useQuery } from '../use-query';

const RUN = `query Run($id: ID!) {
  flowRun(id: $id) {
    id state stateReason stateMessage version attempt parameters labels priority idempotencyKey
    scheduledAt createdAt startedAt endedAt exitCode signal rerunOf
    wait { kind message limitScope running limit agents { name online lastSeenAt } }
    agent { name online }
    flow { id name project { name } } flowVersion { number }
    taskRuns { key taskName state stateMessage attempts startedAt endedAt }
    stateHistory { fromState toState reason message actor attempt at }
  }
}`;
const MATERIALIZATIONS = 'query Writes($id: ID!) { flowRun(id: $id) { materializations { kind dataset table partitions rows uri recordedAt } } }';
const STATE_CHANGED = 'subscription State($id: ID!) { flowRunStateChanged(id: $id) { flowRun { id state version } } }';
const LOGS = 'subscription Logs($id: ID!) { flowRunLogs(id: $id) { id level stream message timestamp taskRunKey } }';

interface Run {
  id: string;
  state: string;
  stateReason: string | null;
  stateMessage: string | null;
  version: number;
  attempt: number;
  parameters: Record<string, unknown>;
  labels: string[];
  priority: number;
  idempotencyKey: string | null;
  scheduledAt: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  rerunOf: string | null;
  wait: { kind: string; message: string; limitScope: string | null; running: number | null; limit: number | null; agents: { name: string; online: boolean; lastSeenAt: string }[] } | null;
  agent: { name: string; online: boolean } | null;
  flow: { id: string; name: string; project: { name: string } };
  flowVersion: { number: number };
  taskRuns: { key: string; taskName: string; state: string; stateMessage: string | null; attempts: number; startedAt: string | null; endedAt: string | null }[];
  stateHistory: { fromState: string | null; toState: string; reason: string | null; message: string | null; actor: string; attempt: number; at: string }[];
}

interface LogLine {
  id: string;
  level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  stream: string;
  message: string;
  timestamp: string;
  taskRunKey: string | null;
}

const BAD = new Set(['FAILED', 'CRASHED', 'TIMED_OUT']);
const CANCELLABLE = new Set(['SCHEDULED', 'SUBMITTED', 'RUNNING']);
const RESTARTABLE: ReadonlySet<string> = new Set(restartableStates);
/** Lines kept in the page; older ones are dropped (the CLI's `fluxo logs` reads them all). */
const MAX_LINES = 20_000;

export function RunPage({ id, viewer }: { id: string; viewer: Viewer }) {
  const run = useQuery<{ flowRun: Run | null }>(RUN, { id });
  const [now, setNow] = useState(Date.now());
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const { reload } = run;
  const state = run.data?.flowRun?.state;

  // Each state change reloads the run; the first event is its current state.
  useEffect(() => subscribe<unknown>(STATE_CHANGED, { id }, () => reload(), () => undefined), [id, reload]);
  // Durations of a live run tick; a finished run's do not. Task runs change without a change of
  // the run's state, so a live run is also read again every few seconds (one small query).
  useEffect(() => {
    if (!state || FINAL_STATES.has(state)) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const refresh = setInterval(reload, 3000);
    return () => {
      clearInterval(tick);
      clearInterval(refresh);
    };
  }, [state, reload]);

  if (run.error && !run.data) return <ErrorBox error={run.error} />;
  if (!run.data) return <Loading what="the run" />;
  const r = run.data.flowRun;
  if (!r) return <ErrorBox error={new ApiError(`no run ${id} in this tenant`, 'NOT_FOUND')} />;

  const act = async (mutation: string, name: 'cancelFlowRun' | 'restartFlowRun' | 'rerunFlowRun'): Promise<void> => {
    setBusy(true);
    setActionError(null);
    try {
      const data = await gql<Record<string, { id: string }>>(mutation, { id: r.id });
      if (name === 'rerunFlowRun') navigate(`/runs/${data[name]!.id}`);
      else reload();
    } catch (error) {
      setActionError(error as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const mayCancel = can(viewer, 'cancelFlowRun') && CANCELLABLE.has(r.state);
  const mayRestart = can(viewer, 'createFlowRun') && RESTARTABLE.has(r.state);
  const mayRerun = can(viewer, 'createFlowRun') && FINAL_STATES.has(r.state);
  const failedTasks = r.taskRuns.filter((t) => BAD.has(t.state));

  return (
    <>
      <PageHeader
        title={
          <>
            Run <span className="mono">{shortId(r.id)}</span> of <Link to={`/flows/${r.flow.id}`}>{r.flow.name}</Link>
          </>
        }
      >
        {mayCancel ? (
          <button type="button" className="danger" disabled={busy} onClick={() => void act('mutation($id: ID!) { cancelFlowRun(id: $id) { id } }', 'cancelFlowRun')}>
            Cancel
          </button>
        ) : null}
        {mayRestart ? (
          <button type="button" disabled={busy} onClick={() => void act('mutation($id: ID!) { restartFlowRun(id: $id) { id } }', 'restartFlowRun')}>
            Restart
          </button>
        ) : null}
        {mayRerun ? (
          <button type="button" disabled={busy} onClick={() => void act('mutation($id: ID!) { rerunFlowRun(id: $id) { id } }', 'rerunFlowRun')}>
            Re-run
          </button>
        ) : null}
      </PageHeader>
      <ErrorBox error={actionError} title="The action was refused" />

      <section className="summary" aria-label="Summary">
        <dl>
          <div>
            <dt>State</dt>
            <dd data-testid="run-state">
              <StateBadge state={r.state} />
              {r.stateReason ? <span className="muted small"> {r.stateReason}</span> : null}
            </dd>
          </div>
          <div>
            <dt>Attempt</dt>
            <dd>{r.attempt}</dd>
          </div>
          <div>
            <dt>Version</dt>
            <dd>{r.flowVersion.number}</dd>
          </div>
          <div>
            <dt>Agent</dt>
            <dd>{r.agent ? r.agent.name : '—'}</dd>
          </div>
          <div>
            <dt>Scheduled</dt>
            <dd>{formatTime(r.scheduledAt)}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatTime(r.startedAt)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(durationOf(r.startedAt, r.endedAt, now))}</dd>
          </div>
          <div>
            <dt>Labels</dt>
            <dd>
              <Labels labels={r.labels} />
            </dd>
          </div>
          {r.rerunOf ? (
            <div>
              <dt>Re-runs</dt>
              <dd>
                <Link to={`/runs/${r.rerunOf}`} className="mono">
                  {shortId(r.rerunOf)}
                </Link>
              </dd>
            </div>
          ) : null}
        </dl>
      </section>

      {r.state === 'SCHEDULED' && r.wait ? (
        <section className="notice" aria-labelledby="wait-heading">
          <h2 id="wait-heading">Why it waits</h2>
          <p data-testid="wait-reason">{r.wait.message}</p>
          {r.wait.limit !== null ? (
            <p className="muted">
              Limit {r.wait.limitScope}: {r.wait.running} of {r.wait.limit} slots in use.
            </p>
          ) : null}
        </section>
      ) : null}

      {BAD.has(r.state) ? (
        <section className="error-box" aria-labelledby="error-heading" data-testid="run-error">
          <h2 id="error-heading">Error</h2>
          <p>
            <strong>{r.stateReason ?? 'failed'}</strong>
            {r.exitCode !== null ? ` (exit code ${r.exitCode})` : ''}
            {r.signal ? ` (signal ${r.signal})` : ''}
          </p>
          {r.stateMessage ? <pre className="message" tabIndex={0}>{r.stateMessage}</pre> : null}
          {failedTasks.map((task) => (
            <div key={task.key}>
              <h3>Task {task.key}</h3>
              {task.stateMessage ? <pre className="message" tabIndex={0}>{task.stateMessage}</pre> : null}
            </div>
          ))}
        </section>
      ) : null}

      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Task runs</h2>
        <Gantt tasks={r.taskRuns} runStartedAt={r.startedAt} runEndedAt={r.endedAt} now={now} />
      </section>

      <Logs id={r.id} />

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">State history</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">State</th>
                <th scope="col">Attempt</th>
                <th scope="col">By</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {r.stateHistory.map((h, i) => (
                <tr key={i}>
                  <td>{formatTime(h.at)}</td>
                  <td>
                    <StateBadge state={h.toState} />
                  </td>
                  <td>{h.attempt}</td>
                  <td className="mono small">{h.actor}</td>
                  <td>{[h.reason, h.message].filter(Boolean).join(': ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="params-heading">
        <h2 id="params-heading">Parameters</h2>
        <pre className="json" tabIndex={0}>{JSON.stringify(r.parameters, null, 2)}</pre>
      </section>
      <Writes id={r.id} />
    </>
  );
}

/** The run's log, live: every line from the start, then each new one as the agent sends it. */
function Logs({ id }: { id: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [query, setQuery] = useState('');
  const [level, setLevel] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    setLines([]);
    // Lines arrive one event each; batching them per frame keeps a chatty run cheap to render.
    let pending: LogLine[] = [];
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((previous) => {
        const next = previous.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    const stop = subscribe<{ flowRunLogs: LogLine }>(
      LOGS,
      { id },
      (data) => {
        pending.push(data.flowRunLogs);
        frame ||= requestAnimationFrame(flush);
      },
      setError,
    );
    return () => {
      stop();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);
  const levels = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];
  const shown = useMemo(() => {
    const needle = query.toLowerCase();
    const min = level ? levels.indexOf(level) : 0;
    return lines.filter((line) => levels.indexOf(line.level) >= min && (!needle || line.message.toLowerCase().includes(needle) || (line.taskRunKey ?? '').toLowerCase().includes(needle)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lines, query, level]);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);
  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <div className="filters">
        <label>
          Search logs
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <label>
          Level
          <select value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="">all</option>
            <option value="INFO">info and above</option>
            <option value="WARNING">warnings and errors</option>
            <option value="ERROR">errors</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <span className="muted small" role="status">
          {shown.length} of {lines.length} lines
        </span>
      </div>
      <ErrorBox error={error} title="Live logs stopped" />
      <div className="logs" ref={box} tabIndex={0} role="log" aria-label="Log lines">
        {shown.map((line) => (
          <div key={line.id} className={`log log-${line.level.toLowerCase()}`}>
            <span className="ts">{formatTime(line.timestamp).slice(11)}</span> <span className="lvl">{line.level}</span>{' '}
            {line.taskRunKey ? <span className="task">[{line.taskRunKey}]</span> : null} <span className="msg">{line.message}</span>
          </div>
        ))}
      </div>
    </section>
  );
}

/** What the run wrote to the lake and the warehouse (fluxo/data lineage), when there is any. */
function Writes({ id }: { id: string }) {
  const writes = useQuery<{ flowRun: { materializations: { kind: string; dataset: string; table: string; partitions: string[]; rows: number | null; uri: string }[] } | null }>(MATERIALIZATIONS, { id });
  const list = writes.data?.flowRun?.materializations ?? [];
  if (list.length === 0) return null;
  return (
    <section aria-labelledby="writes-heading">
      <h2 id="writes-heading">Data written</h2>
      <ul>
        {list.map((m, i) => (
          <li key={i}>
            <Link to={`/tables/${encodeURIComponent(`${m.kind}:${m.dataset}.${m.table}`)}`}>
              {m.kind} {m.dataset}
              {m.table ? `.${m.table}` : ''}
            </Link>{' '}
            {m.partitions.length > 0 ? <span className="muted">{m.partitions.length} partitions</span> : null} {m.rows !== null ? <span className="muted">{m.rows} rows</span> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
