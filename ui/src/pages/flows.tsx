// Flows: what is registered, its versions, its schedule (pause and resume for roles that may), its
// parameters and recent runs, and the Run button with a form generated from the parameter schema.
import { useState } from 'react';
import { ApiError, gql } from '../api';
import { ErrorBox, Labels, Loading, PageHeader, Pager } from '../components/common';
import { RunForm } from '../components/run-form';
import { fieldsOf, hintOf } from '../param-schema';
import { formatRelative, formatTime } from '../format';
import { can } from '../permissions';
import { Link, navigate } from '../router';
import type { Viewer } from '../session';
import { useQuery } from '../use-query';
import { RUN_ROW_FIELDS, RunsTable, type RunRow } from './runs';

const FLOWS = `query Flows($after: String) {
  flows(first: 50, after: $after) {
    nodes { id name project { name } latestVersion { number description createdAt defaultLabels } schedule { state nextRunAt } }
    pageInfo { endCursor hasNextPage }
  }
}`;

interface FlowRow {
  id: string;
  name: string;
  project: { name: string };
  latestVersion: { number: number; description: string | null; createdAt: string; defaultLabels: string[] };
  schedule: { state: string; nextRunAt: string | null } | null;
}

export function FlowsPage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const flows = useQuery<{ flows: { nodes: FlowRow[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(FLOWS, { after: cursors[cursors.length - 1] ?? null });
  const page = flows.data?.flows;
  return (
    <>
      <PageHeader title="Flows" />
      <ErrorBox error={flows.error} />
      {!page ? <Loading what="flows" /> : null}
      {page && page.nodes.length === 0 ? <p className="muted">No flows are registered yet: `fluxo register` adds them.</p> : null}
      {page && page.nodes.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Flows</caption>
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">Project</th>
                <th scope="col">Version</th>
                <th scope="col">Schedule</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {page.nodes.map((flow) => (
                <tr key={flow.id}>
                  <td>
                    <Link to={`/flows/${flow.id}`}>{flow.name}</Link>
                  </td>
                  <td>{flow.project.name}</td>
                  <td title={formatTime(flow.latestVersion.createdAt)}>
                    v{flow.latestVersion.number} <span className="muted small">{formatRelative(flow.latestVersion.createdAt)}</span>
                  </td>
                  <td>{flow.schedule ? `${flow.schedule.state.toLowerCase()}${flow.schedule.nextRunAt ? `, next ${formatRelative(flow.schedule.nextRunAt)}` : ''}` : <span className="muted">none</span>}</td>
                  <td>{flow.latestVersion.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page ? (
        <Pager label="Flows pages" hasPrevious={cursors.length > 1} hasNext={page.pageInfo.hasNextPage} onPrevious={() => setCursors((c) => c.slice(0, -1))} onNext={() => setCursors((c) => [...c, page.pageInfo.endCursor])} />
      ) : null}
    </>
  );
}

const FLOW = `query Flow($id: ID!) {
  flow(id: $id) {
    id name createdAt project { name }
    latestVersion {
      id number description parameterSchema defaultLabels secrets retries retryDelaySeconds timeoutSeconds concurrencyLimit entrypoint storageUri createdAt
    }
    versions(first: 20) { nodes { id number contentHash sha256 size createdAt } }
    schedule { state nextRunAt stateChangedAt stateChangedBy missedRuns clocks { index cron timezone everySeconds nextTimes(count: 3) } }
  }
  flowRuns(filter: { flowId: $id }, first: 10) { nodes { ${RUN_ROW_FIELDS} } }
}`;

interface FlowDetails {
  id: string;
  name: string;
  createdAt: string;
  project: { name: string };
  latestVersion: {
    id: string;
    number: number;
    description: string | null;
    parameterSchema: unknown;
    defaultLabels: string[];
    secrets: string[];
    retries: number;
    retryDelaySeconds: number;
    timeoutSeconds: number | null;
    concurrencyLimit: number | null;
    entrypoint: string;
    storageUri: string;
    createdAt: string;
  };
  versions: { nodes: { id: string; number: number; contentHash: string; sha256: string; size: number; createdAt: string }[] };
  schedule: {
    state: 'ACTIVE' | 'PAUSED';
    nextRunAt: string | null;
    stateChangedAt: string | null;
    stateChangedBy: string | null;
    missedRuns: string;
    clocks: { index: number; cron: string | null; timezone: string | null; everySeconds: number | null; nextTimes: string[] }[];
  } | null;
}

export function FlowPage({ id, viewer }: { id: string; viewer: Viewer }) {
  const flow = useQuery<{ flow: FlowDetails | null; flowRuns: { nodes: RunRow[] } }>(FLOW, { id });
  const [showForm, setShowForm] = useState(false);
  const [scheduleError, setScheduleError] = useState<ApiError | null>(null);
  if (flow.error && !flow.data) return <ErrorBox error={flow.error} />;
  if (!flow.data) return <Loading what="the flow" />;
  const f = flow.data.flow;
  if (!f) return <ErrorBox error={new ApiError(`no flow ${id} in this tenant`, 'NOT_FOUND')} />;
  const v = f.latestVersion;
  const toggle = async (): Promise<void> => {
    setScheduleError(null);
    const mutation = f.schedule?.state === 'PAUSED' ? 'resumeSchedule' : 'pauseSchedule';
    try {
      await gql(`mutation($project: String, $flowName: String!) { ${mutation}(project: $project, flowName: $flowName) { state } }`, { project: f.project.name, flowName: f.name });
      flow.reload();
    } catch (error) {
      setScheduleError(error as ApiError);
    }
  };
  return (
    <>
      <PageHeader title={`${f.project.name}/${f.name}`}>
        {can(viewer, 'createFlowRun') ? (
          <button type="button" className="primary" onClick={() => setShowForm(true)} aria-expanded={showForm}>
            Run
          </button>
        ) : null}
      </PageHeader>
      {v.description ? <p>{v.description}</p> : null}
      {showForm ? <RunForm flowId={f.id} versionId={v.id} schema={v.parameterSchema} onCreated={(runId) => navigate(`/runs/${runId}`)} onClose={() => setShowForm(false)} /> : null}

      <section aria-labelledby="version-heading">
        <h2 id="version-heading">Latest version: v{v.number}</h2>
        <dl className="summary">
          <div>
            <dt>Registered</dt>
            <dd>{formatTime(v.createdAt)}</dd>
          </div>
          <div>
            <dt>Default labels</dt>
            <dd>
              <Labels labels={v.defaultLabels} />
            </dd>
          </div>
          <div>
            <dt>Retries</dt>
            <dd>
              {v.retries} (every {v.retryDelaySeconds} s)
            </dd>
          </div>
          <div>
            <dt>Timeout</dt>
            <dd>{v.timeoutSeconds ? `${v.timeoutSeconds} s` : 'none'}</dd>
          </div>
          <div>
            <dt>Concurrency limit</dt>
            <dd>{v.concurrencyLimit ?? 'none'}</dd>
          </div>
          <div>
            <dt>Secrets</dt>
            <dd>{v.secrets.length ? v.secrets.join(', ') : 'none'}</dd>
          </div>
          <div>
            <dt>Bundle</dt>
            <dd className="mono small">{v.storageUri}</dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="schedule-heading">
        <h2 id="schedule-heading">Schedule</h2>
        {f.schedule ? (
          <>
            <p>
              <strong>{f.schedule.state === 'ACTIVE' ? 'Active' : 'Paused'}</strong>
              {f.schedule.nextRunAt ? `; next run ${formatTime(f.schedule.nextRunAt)}` : ''}
              {f.schedule.stateChangedBy ? <span className="muted"> (last switched by {f.schedule.stateChangedBy}, {formatRelative(f.schedule.stateChangedAt)})</span> : null}
            </p>
            <ul>
              {f.schedule.clocks.map((clock) => (
                <li key={clock.index}>
                  {clock.cron ? (
                    <>
                      cron <code>{clock.cron}</code> ({clock.timezone})
                    </>
                  ) : (
                    <>every {clock.everySeconds} s</>
                  )}
                  {clock.nextTimes.length ? <span className="muted"> — next {clock.nextTimes.map(formatTime).join(', ')}</span> : null}
                </li>
              ))}
            </ul>
            {can(viewer, 'manageSchedules') ? (
              <button type="button" onClick={() => void toggle()}>
                {f.schedule.state === 'ACTIVE' ? 'Pause schedule' : 'Resume schedule'}
              </button>
            ) : null}
            <ErrorBox error={scheduleError} />
          </>
        ) : (
          <p className="muted">No schedule: the flow runs when asked.</p>
        )}
      </section>

      <section aria-labelledby="params-heading">
        <h2 id="params-heading">Parameters</h2>
        <ParametersTable schema={v.parameterSchema} />
        <details>
          <summary>Parameter schema (JSON Schema)</summary>
          <pre className="json" tabIndex={0}>
            {JSON.stringify(v.parameterSchema, null, 2)}
          </pre>
        </details>
      </section>

      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent runs</h2>
        <RunsTable runs={flow.data.flowRuns.nodes} caption={`Recent runs of ${f.name}`} showFlow={false} />
        <p>
          <Link to={`/runs?flow=${encodeURIComponent(f.id)}`}>All runs of {f.name}</Link>
        </p>
      </section>

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Registered</th>
                <th scope="col">Bundle sha256</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {f.versions.nodes.map((version) => (
                <tr key={version.id}>
                  <td>v{version.number}</td>
                  <td>{formatTime(version.createdAt)}</td>
                  <td className="mono small">{version.sha256.slice(0, 16)}…</td>
                  <td>{(version.size / 1024).toFixed(1)} KiB</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

/** The version's parameters as people read them: name, rules, description. */
function ParametersTable({ schema }: { schema: unknown }) {
  const fields = fieldsOf(schema);
  if (fields.length === 0) return <p className="muted">None.</p>;
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type and rules</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((field) => (
            <tr key={field.name}>
              <td className="mono">{field.name}</td>
              <td>{hintOf(field)}</td>
              <td>{field.description ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
