// Tables: the datasets, tables and lake folders the tenant's flows wrote (fluxo/data lineage), each
// partition with the run that last wrote it. The server records only where data is, never the data.
import { useState } from 'react';
import { ErrorBox, Loading, PageHeader, Pager } from '../components/common';
import { formatRelative, formatTime } from '../format';
import { Link } from '../router';
import { useQuery } from '../use-query';

const WRITE = 'kind dataset table partitions rows bytes uri mode recordedAt attempt taskRunKey flowRun { id state flow { id name } }';

interface Write {
  kind: string;
  dataset: string;
  table: string;
  partitions: string[];
  rows: number | null;
  bytes: number | null;
  uri: string;
  mode: string | null;
  recordedAt: string;
  attempt: number;
  taskRunKey: string | null;
  flowRun: { id: string; state: string; flow: { id: string; name: string } };
}

const TABLES = `query Tables($after: String) {
  dataTables(first: 100, after: $after) { nodes { dataset table kind lastWrite { ${WRITE} } } pageInfo { endCursor hasNextPage } }
}`;

/** `/tables/<kind>:<dataset>.<table>` names one table. */
function tablePath(kind: string, dataset: string, table: string): string {
  return `/tables/${encodeURIComponent(`${kind}:${dataset}.${table}`)}`;
}

export function TablesPage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const q = useQuery<{ dataTables: { nodes: { dataset: string; table: string; kind: string; lastWrite: Write }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(TABLES, { after: cursors[cursors.length - 1] ?? null });
  const page = q.data?.dataTables;
  const datasets = new Map<string, { dataset: string; table: string; kind: string; lastWrite: Write }[]>();
  for (const node of page?.nodes ?? []) datasets.set(node.dataset, [...(datasets.get(node.dataset) ?? []), node]);
  return (
    <>
      <PageHeader title="Tables" />
      <p className="muted">What the flows wrote to the lake and the warehouse, by dataset, and the run that wrote each.</p>
      <ErrorBox error={q.error} />
      {!page && q.loading ? <Loading what="tables" /> : null}
      {page && page.nodes.length === 0 ? <p className="muted">No flow has recorded a write yet (flows that use fluxo/data record theirs).</p> : null}
      {[...datasets].map(([dataset, tables]) => (
        <section key={dataset} aria-labelledby={`ds-${dataset}`}>
          <h2 id={`ds-${dataset}`}>{dataset}</h2>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col">Layer</th>
                  <th scope="col">Last written</th>
                  <th scope="col">By run</th>
                  <th scope="col">Rows (last write)</th>
                </tr>
              </thead>
              <tbody>
                {tables.map((t) => (
                  <tr key={`${t.kind}:${t.table}`}>
                    <td>
                      <Link to={tablePath(t.kind, t.dataset, t.table)}>{t.table || '(dataset)'}</Link>
                    </td>
                    <td>{t.kind.toLowerCase()}</td>
                    <td title={formatTime(t.lastWrite.recordedAt)}>{formatRelative(t.lastWrite.recordedAt)}</td>
                    <td>
                      <Link to={`/runs/${t.lastWrite.flowRun.id}`}>{t.lastWrite.flowRun.flow.name}</Link>
                    </td>
                    <td>{t.lastWrite.rows ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
      {page && page.nodes.length > 0 ? (
        <Pager label="Tables pages" hasPrevious={cursors.length > 1} hasNext={page.pageInfo.hasNextPage} onPrevious={() => setCursors((c) => c.slice(0, -1))} onNext={() => setCursors((c) => [...c, page.pageInfo.endCursor])} />
      ) : null}
    </>
  );
}

const TABLE = `query Table($dataset: String!, $table: String!, $kind: MaterializationKind!) {
  dataTable(dataset: $dataset, table: $table, kind: $kind) {
    dataset table kind
    lastWrite { ${WRITE} }
    partitions(first: 100) { partition lastWrite { ${WRITE} } }
    history(first: 20) { ${WRITE} }
  }
}`;

export function TablePage({ id }: { id: string }) {
  const match = /^([A-Z]+):([^.]*)\.(.*)$/.exec(id);
  const variables = match ? { kind: match[1]!, dataset: match[2]!, table: match[3]! } : { kind: 'TABLE', dataset: '', table: '' };
  const q = useQuery<{ dataTable: { dataset: string; table: string; kind: string; lastWrite: Write; partitions: { partition: string; lastWrite: Write }[]; history: Write[] } | null }>(TABLE, variables, { skip: !match });
  if (!match) return <ErrorBox error={new Error(`"${id}" does not name a table (KIND:dataset.table)`)} />;
  const t = q.data?.dataTable;
  return (
    <>
      <PageHeader title={`${variables.dataset}${variables.table ? `.${variables.table}` : ''}`} />
      <p className="muted">Layer: {variables.kind.toLowerCase()}</p>
      <ErrorBox error={q.error} />
      {!q.data && q.loading ? <Loading what="the table" /> : null}
      {q.data && !t ? <p>No such table in this tenant.</p> : null}
      {t ? (
        <>
          <p>
            Location: <span className="mono small">{t.lastWrite.uri}</span>
          </p>
          <section aria-labelledby="partitions-heading">
            <h2 id="partitions-heading">Partitions</h2>
            {t.partitions.length === 0 ? <p className="muted">Not partitioned.</p> : <WritesTable rows={t.partitions.map((p) => ({ key: p.partition, label: p.partition, write: p.lastWrite }))} first="Partition" />}
          </section>
          <section aria-labelledby="history-heading">
            <h2 id="history-heading">Writes</h2>
            <WritesTable rows={t.history.map((w, i) => ({ key: String(i), label: formatTime(w.recordedAt), write: w }))} first="Recorded" />
          </section>
        </>
      ) : null}
    </>
  );
}

function WritesTable({ rows, first }: { rows: { key: string; label: string; write: Write }[]; first: string }) {
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <thead>
          <tr>
            <th scope="col">{first}</th>
            <th scope="col">Run</th>
            <th scope="col">Task</th>
            <th scope="col">Mode</th>
            <th scope="col">Rows in that write</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              <td className="mono small">{row.label}</td>
              <td>
                <Link to={`/runs/${row.write.flowRun.id}`}>{row.write.flowRun.flow.name}</Link> <span className="muted small">attempt {row.write.attempt}</span>
              </td>
              <td className="mono small">{row.write.taskRunKey ?? '—'}</td>
              <td>{row.write.mode ?? '—'}</td>
              <td>{row.write.rows ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
