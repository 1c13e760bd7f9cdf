// Agents: who can take work (labels, capacity, when last seen), what each is running now, and the
// scheduled runs no agent can take, with the API's reason (no matching labels, agents offline).
import { ErrorBox, Labels, Loading, PageHeader } from '../components/common';
import { formatRelative, formatTime } from '../format';
import { Link } from '../router';
import { useQuery } from '../use-query';

const AGENTS = `{
  agents(first: 100) { nodes { id name labels concurrency online lastSeenAt createdAt } pageInfo { hasNextPage } }
  busy: flowRuns(filter: { states: [SUBMITTED, RUNNING, CANCELLING] }, first: 200) { nodes { id state agent { id } flow { name } } }
  waiting: flowRuns(filter: { states: [SCHEDULED] }, first: 200) { nodes { id scheduledAt labels flow { name } wait { kind message } } }
}`;

interface Agents {
  agents: { nodes: { id: string; name: string; labels: string[]; concurrency: number; online: boolean; lastSeenAt: string; createdAt: string }[]; pageInfo: { hasNextPage: boolean } };
  busy: { nodes: { id: string; state: string; agent: { id: string } | null; flow: { name: string } }[] };
  waiting: { nodes: { id: string; scheduledAt: string; labels: string[]; flow: { name: string }; wait: { kind: string; message: string } | null }[] };
}

const UNTAKEN = new Set(['NO_MATCHING_AGENT', 'AGENTS_OFFLINE']);

export function AgentsPage() {
  const q = useQuery<Agents>(AGENTS);
  const d = q.data;
  const stuck = d ? d.waiting.nodes.filter((run) => run.wait && UNTAKEN.has(run.wait.kind)) : [];
  return (
    <>
      <PageHeader title="Agents">
        <button type="button" onClick={q.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={q.error} />
      {!d ? <Loading what="agents" /> : null}
      {d ? (
        <>
          {d.agents.nodes.length === 0 ? <p className="muted">No agent has registered in this tenant: start one with `fluxo agent start`.</p> : null}
          {d.agents.nodes.length > 0 ? (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <caption className="visually-hidden">Agents</caption>
                <thead>
                  <tr>
                    <th scope="col">Agent</th>
                    <th scope="col">Status</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Runs in progress</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {d.agents.nodes.map((agent) => {
                    const running = d.busy.nodes.filter((run) => run.agent?.id === agent.id);
                    return (
                      <tr key={agent.id}>
                        <td>{agent.name}</td>
                        <td>
                          <span className={agent.online ? 'dot dot-on' : 'dot dot-off'} aria-hidden="true" /> {agent.online ? 'online' : 'offline'}
                        </td>
                        <td>
                          <Labels labels={agent.labels} />
                        </td>
                        <td>
                          {running.length} of {agent.concurrency}
                          {running.length > 0 ? (
                            <ul className="plain small">
                              {running.map((run) => (
                                <li key={run.id}>
                                  <Link to={`/runs/${run.id}`}>{run.flow.name}</Link>
                                </li>
                              ))}
                            </ul>
                          ) : null}
                        </td>
                        <td title={formatTime(agent.lastSeenAt)}>{formatRelative(agent.lastSeenAt)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : null}
          <section aria-labelledby="stuck-heading">
            <h2 id="stuck-heading">Scheduled runs no agent can take</h2>
            {stuck.length === 0 ? <p className="muted">None: every due run has an agent that can take it.</p> : null}
            <ul className="plain">
              {stuck.map((run) => (
                <li key={run.id}>
                  <Link to={`/runs/${run.id}`}>{run.flow.name}</Link> <Labels labels={run.labels} /> <span className="muted small">due {formatRelative(run.scheduledAt)}</span>
                  <div className="reason">{run.wait!.message}</div>
                </li>
              ))}
            </ul>
          </section>
        </>
      ) : null}
    </>
  );
}
