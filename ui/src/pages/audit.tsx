// The audit log (admins and tenant-admins): who did or tried what, and how it ended.
import { useState, type FormEvent } from 'react';
import { ErrorBox, Loading, PageHeader, Pager } from '../components/common';
import { formatTime } from '../format';
import { can } from '../permissions';
import type { Viewer } from '../session';
import { useQuery } from '../use-query';

const AUDIT = `query Audit($filter: AuditEventFilter, $after: String) {
  auditEvents(filter: $filter, first: 50, after: $after) {
    nodes { id at tenant subject role action outcome code detail requestId }
    pageInfo { endCursor hasNextPage }
  }
}`;

interface AuditEvent {
  id: string;
  at: string;
  tenant: string | null;
  subject: string | null;
  role: string | null;
  action: string;
  outcome: string;
  code: string | null;
  detail: string | null;
  requestId: string | null;
}

export function AuditPage({ viewer }: { viewer: Viewer }) {
  const [filter, setFilter] = useState<Record<string, string>>({});
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const allowed = can(viewer, 'readAuditLog');
  const q = useQuery<{ auditEvents: { nodes: AuditEvent[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(AUDIT, { filter, after: cursors[cursors.length - 1] ?? null }, { skip: !allowed });
  if (!allowed) return <ErrorBox error={new Error('The audit log is for admins and tenant-admins.')} />;
  const apply = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next: Record<string, string> = {};
    for (const name of ['subject', 'action', 'outcome']) {
      const value = String(form.get(name) ?? '').trim();
      if (value) next[name] = value;
    }
    setFilter(next);
    setCursors([null]);
  };
  const page = q.data?.auditEvents;
  return (
    <>
      <PageHeader title="Audit log" />
      <form className="filters" onSubmit={apply} aria-label="Filter audit events">
        <label>
          Subject
          <input name="subject" />
        </label>
        <label>
          Action
          <input name="action" placeholder="mutation.createFlowRun" />
        </label>
        <label>
          Outcome
          <select name="outcome" defaultValue="">
            <option value="">any</option>
            <option value="ALLOWED">allowed</option>
            <option value="DENIED">denied</option>
            <option value="FAILED">failed</option>
          </select>
        </label>
        <button type="submit">Apply filters</button>
      </form>
      <ErrorBox error={q.error} />
      {!page ? <Loading what="audit events" /> : null}
      {page ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {page.nodes.map((event) => (
                <tr key={event.id}>
                  <td>{formatTime(event.at)}</td>
                  <td>
                    {event.subject ?? 'unknown'} <span className="muted small">{event.role?.toLowerCase() ?? ''} {event.tenant ?? ''}</span>
                  </td>
                  <td className="mono small">{event.action}</td>
                  <td>
                    <span className={`outcome outcome-${event.outcome.toLowerCase()}`}>{event.outcome.toLowerCase()}</span> {event.code ? <code className="small">{event.code}</code> : null}
                  </td>
                  <td className="small">{event.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page ? (
        <Pager label="Audit pages" hasPrevious={cursors.length > 1} hasNext={page.pageInfo.hasNextPage} onPrevious={() => setCursors((c) => c.slice(0, -1))} onNext={() => setCursors((c) => [...c, page.pageInfo.endCursor])} />
      ) : null}
    </>
  );
}
