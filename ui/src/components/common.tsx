// Small building blocks shared by the pages.
import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { stateGroup, stateLabel } from '../format';

/** A run or task state as a coloured badge (text, not colour alone, carries the meaning). */
export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${stateGroup(state)}`}>{stateLabel(state)}</span>;
}

/** An API error with its code. */
export function ErrorBox({ error, title = 'Error' }: { error: ApiError | Error | null; title?: string }) {
  if (!error) return null;
  const code = 'code' in error ? String(error.code) : undefined;
  return (
    <div className="error-box" role="alert">
      <strong>{title}</strong>
      {code ? <code className="code">{code}</code> : null}
      <p>{error.message}</p>
    </div>
  );
}

/** A loading line that screen readers announce. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A page's heading and optional actions. */
export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="actions">{children}</div> : null}
    </div>
  );
}

/** Previous/next buttons over keyset cursors. */
export function Pager({ hasPrevious, hasNext, onPrevious, onNext, label }: { hasPrevious: boolean; hasNext: boolean; onPrevious: () => void; onNext: () => void; label: string }) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" onClick={onPrevious} disabled={!hasPrevious}>
        Previous page
      </button>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next page
      </button>
    </nav>
  );
}

/** Labels as chips. */
export function Labels({ labels }: { labels: readonly string[] }) {
  if (labels.length === 0) return <span className="muted">none</span>;
  return (
    <span className="labels">
      {labels.map((label) => (
        <span className="chip" key={label}>
          {label}
        </span>
      ))}
    </span>
  );
}
