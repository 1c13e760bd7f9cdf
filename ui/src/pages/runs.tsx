// Runs: newest first, one page of 50 at a time over the API's cursors (never counted, never all
// fetched: the list stays as fast at 1M runs as at 10), filtered by state, flow, label and creation
// time with the API's FlowRunFilter. Filters live in the query string, so a filtered list is a link.
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorBox, Labels, Loading, PageHeader, Pager, StateBadge } from '../components/common';
import { durationOf, formatDuration, formatRelative, formatTime, RUN_STATES, stateLabel } from '../format';
import { shortId } from '../format';
import { Link, navigate, useLocation } from '../router';
import { useQuery } from '../use-query';

export const RUN_ROW_FIELDS = 'id state stateReason labels createdAt scheduledAt startedAt endedAt attempt flow { id name project { name } }';

export interface RunRow {
  id: string;
  state: string;
  stateReason: string | null;
  labels: string[];
  createdAt: string;
  scheduledAt: string;
  startedAt: string | null;
  endedAt: string | null;
  attempt: number;
  flow: { id: string; name: string; project: { name: string } };
}

const RUNS = `query Runs($filter: FlowRunFilter, $after: String) {
  flowRuns(filter: $filter, first: 50, after: $after) { nodes { ${RUN_ROW_FIELDS} } pageInfo { endCursor hasNextPage } }
}`;
const FLOW_NAMES = '{ flows(first: 200) { nodes { id name project { name } } } }';

/** `datetime-local` text (browser zone) → ISO instant, or undefined. */
function instant(local: string | null): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function RunsPage() {
  const { search } = useLocation();
  const state = search.get('state') ?? '';
  const flowId = search.get('flow') ?? '';
  const label = search.get('label') ?? '';
  const from = search.get('from') ?? '';
  const to = search.get('to') ?? '';
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const filterKey = `${state}|${flowId}|${label}|${from}|${to}`;
  useEffect(() => setCursors([null]), [filterKey]);
  const filter = {
    ...(state ? { states: [state] } : {}),
    ...(flowId ? { flowId } : {}),
    ...(label ? { label } : {}),
    ...(instant(from) ? { createdAfter: instant(from) } : {}),
    ...(instant(to) ? { createdBefore: instant(to) } : {}),
  };
  const after = cursors[cursors.length - 1] ?? null;
  const runs = useQuery<{ flowRuns: { nodes: RunRow[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(RUNS, { filter, after });
  const flows = useQuery<{ flows: { nodes: { id: string; name: string; project: { name: string } }[] } }>(FLOW_NAMES);

  const apply = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const params = new URLSearchParams();
    for (const name of ['state', 'flow', 'label', 'from', 'to']) {
      const value = String(form.get(name) ?? '').trim();
      if (value) params.set(name, value);
    }
    navigate(`/runs${params.size ? `?${params}` : ''}`);
  };

  const page = runs.data?.flowRuns;
  return (
    <>
      <PageHeader title="Runs">
        <button type="button" onClick={runs.reload}>
          Refresh
        </button>
      </PageHeader>
      <form className="filters" onSubmit={apply} aria-label="Filter runs" key={filterKey}>
        <label>
          State
          <select name="state" defaultValue={state}>
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {stateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Flow
          <select name="flow" defaultValue={flowId}>
            <option value="">any</option>
            {(flows.data?.flows.nodes ?? []).map((f) => (
              <option key={f.id} value={f.id}>
                {f.project.name}/{f.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input name="label" defaultValue={label} placeholder="e.g. rj-smtr" />
        </label>
        <label>
          Created after
          <input name="from" type="datetime-local" defaultValue={from} />
        </label>
        <label>
          Created before
          <input name="to" type="datetime-local" defaultValue={to} />
        </label>
        <button type="submit">Apply filters</button>
        {filterKey !== '||||' ? (
          <button type="button" className="link-button" onClick={() => navigate('/runs')}>
            Clear
          </button>
        ) : null}
      </form>
      <ErrorBox error={runs.error} />
      {!page && runs.loading ? <Loading what="runs" /> : null}
      {page ? <RunsTable runs={page.nodes} caption="Flow runs, newest first" /> : null}
      {page ? (
        <Pager
          label="Runs pages"
          hasPrevious={cursors.length > 1}
          hasNext={page.pageInfo.hasNextPage}
          onPrevious={() => setCursors((c) => c.slice(0, -1))}
          onNext={() => setCursors((c) => [...c, page.pageInfo.endCursor])}
        />
      ) : null}
    </>
  );
}

/** A table of runs, shared by the runs, flow and dashboard pages. */
export function RunsTable({ runs, caption, showFlow = true }: { runs: readonly RunRow[]; caption: string; showFlow?: boolean }) {
  if (runs.length === 0) return <p className="muted">No runs.</p>;
  const now = Date.now();
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            {showFlow ? <th scope="col">Flow</th> : null}
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Duration</th>
            <th scope="col">Labels</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-run-id={run.id}>
              <td>
                <Link to={`/runs/${run.id}`} className="mono">
                  {shortId(run.id)}
                </Link>
              </td>
              {showFlow ? (
                <td>
                  <Link to={`/flows/${run.flow.id}`}>{run.flow.name}</Link>
                </td>
              ) : null}
              <td>
                <StateBadge state={run.state} />
                {run.stateReason && run.state !== 'SUCCESS' ? <span className="muted small"> {run.stateReason}</span> : null}
              </td>
              <td title={formatTime(run.createdAt)}>{formatRelative(run.createdAt, now)}</td>
              <td>{formatDuration(durationOf(run.startedAt, run.endedAt, now))}</td>
              <td>
                <Labels labels={run.labels} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
