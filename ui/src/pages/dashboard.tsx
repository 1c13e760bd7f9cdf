// The dashboard answers, at a glance: what ran lately and how it ended, what failed and why, which
// runs are late (due but not started, with the reason), and whether the agents are alive. Every
// list is one bounded page of the API: nothing is counted over the whole history.
import { useEffect } from 'react';
import { ErrorBox, Loading, PageHeader, StateBadge } from '../components/common';
import { RunsChart } from '../components/runs-chart';
import { formatRelative, formatTime } from '../format';
import { Link } from '../router';
import { useQuery } from '../use-query';

const DASHBOARD = `query Dashboard($since: DateTime!) {
  recent: flowRuns(filter: { createdAfter: $since }, first: 500) { nodes { state createdAt } pageInfo { hasNextPage } }
  failures: flowRuns(filter: { states: [FAILED, CRASHED, TIMED_OUT] }, first: 8) {
    nodes { id state stateReason stateMessage endedAt flow { id name } }
  }
  waiting: flowRuns(filter: { states: [SCHEDULED] }, first: 100) {
    nodes { id scheduledAt flow { id name } wait { kind message } }
  }
  agents(first: 100) { nodes { id name labels online lastSeenAt concurrency } }
}`;

interface Dashboard {
  recent: { nodes: { state: string; createdAt: string }[]; pageInfo: { hasNextPage: boolean } };
  failures: { nodes: { id: string; state: string; stateReason: string | null; stateMessage: string | null; endedAt: string | null; flow: { id: string; name: string } }[] };
  waiting: { nodes: { id: string; scheduledAt: string; flow: { id: string; name: string }; wait: { kind: string; message: string } | null }[] };
  agents: { nodes: { id: string; name: string; labels: string[]; online: boolean; lastSeenAt: string; concurrency: number }[] };
}

// The hour is rounded so the variables (and so the query) stay the same between renders.
const since = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 23 * 3_600_000).toISOString();

export function DashboardPage() {
  const dashboard = useQuery<Dashboard>(DASHBOARD, { since });
  // An operator leaves it open: it reads again every 30 s (four bounded lists, no counting).
  const { reload } = dashboard;
  useEffect(() => {
    const timer = setInterval(reload, 30_000);
    return () => clearInterval(timer);
  }, [reload]);
  const d = dashboard.data;
  const now = Date.now();
  const late = d ? d.waiting.nodes.filter((run) => new Date(run.scheduledAt).getTime() <= now && run.wait?.kind !== 'SCHEDULED_LATER') : [];
  const online = d ? d.agents.nodes.filter((a) => a.online).length : 0;
  return (
    <>
      <PageHeader title="Dashboard">
        <button type="button" onClick={dashboard.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={dashboard.error} />
      {!d ? <Loading what="the dashboard" /> : null}
      {d ? (
        <div className="grid">
          <section className="card wide" aria-labelledby="chart-heading">
            <h2 id="chart-heading">Runs by state, last 24 hours</h2>
            <RunsChart runs={d.recent.nodes} truncated={d.recent.pageInfo.hasNextPage} />
          </section>
          <section className="card" aria-labelledby="failures-heading">
            <h2 id="failures-heading">Recent failures</h2>
            {d.failures.nodes.length === 0 ? <p className="muted">No failed runs.</p> : null}
            <ul className="plain">
              {d.failures.nodes.map((run) => (
                <li key={run.id}>
                  <StateBadge state={run.state} /> <Link to={`/runs/${run.id}`}>{run.flow.name}</Link> <span className="muted small">{formatRelative(run.endedAt)}</span>
                  <div className="reason">
                    {run.stateReason ? <code>{run.stateReason}</code> : null} {run.stateMessage ? truncate(run.stateMessage, 160) : null}
                  </div>
                </li>
              ))}
            </ul>
            <Link to="/runs?state=FAILED">All failed runs</Link>
          </section>
          <section className="card" aria-labelledby="late-heading">
            <h2 id="late-heading">Late runs</h2>
            {late.length === 0 ? <p className="muted">No run is waiting past its time.</p> : null}
            <ul className="plain">
              {late.slice(0, 8).map((run) => (
                <li key={run.id}>
                  <Link to={`/runs/${run.id}`}>{run.flow.name}</Link> <span className="muted small">due {formatRelative(run.scheduledAt)}</span>
                  <div className="reason">{run.wait?.message ?? 'waiting'}</div>
                </li>
              ))}
            </ul>
          </section>
          <section className="card" aria-labelledby="agents-heading">
            <h2 id="agents-heading">Agents</h2>
            <p>
              <strong>{online}</strong> of {d.agents.nodes.length} online
            </p>
            <ul className="plain">
              {d.agents.nodes.slice(0, 8).map((agent) => (
                <li key={agent.id}>
                  <span className={agent.online ? 'dot dot-on' : 'dot dot-off'} aria-hidden="true" /> {agent.name} <span className="muted small">{agent.online ? 'online' : 'offline'}, seen {formatRelative(agent.lastSeenAt)}</span>
                </li>
              ))}
            </ul>
            <Link to="/agents">All agents</Link>
          </section>
        </div>
      ) : null}
      {d ? <p className="muted small">Updated {formatTime(new Date().toISOString())}</p> : null}
    </>
  );
}

function truncate(text: string, length: number): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}
