// The shell: header (tenant switcher for admins, who is signed in), navigation, and the page of the
// current path. Pages load their own data; GraphiQL is a separate chunk loaded on /explorer only.
import { lazy, Suspense, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { gql } from './api';
import { ErrorBox, Loading } from './components/common';
import { can, type Permission } from './permissions';
import { Link, navigate, useLocation } from './router';
import { getSession, setViewer, signOut, subscribeSession, switchTenant, type Viewer } from './session';
import { AgentsPage } from './pages/agents';
import { AuditPage } from './pages/audit';
import { DashboardPage } from './pages/dashboard';
import { FlowPage, FlowsPage } from './pages/flows';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { SignInPage } from './pages/sign-in';
import { TablePage, TablesPage } from './pages/tables';

const ExplorerPage = lazy(() => import('./pages/explorer'));

const NAV: { to: string; label: string; permission?: Permission }[] = [
  { to: '/', label: 'Dashboard' },
  { to: '/runs', label: 'Runs' },
  { to: '/flows', label: 'Flows' },
  { to: '/agents', label: 'Agents' },
  { to: '/tables', label: 'Tables' },
  { to: '/audit', label: 'Audit', permission: 'readAuditLog' },
  { to: '/explorer', label: 'Explorer' },
];

function useSession() {
  return useSyncExternalStore(subscribeSession, getSession);
}

export function App() {
  const session = useSession();
  const { pathname } = useLocation();
  const [error, setError] = useState<Error | null>(null);
  const key = session ? `${session.token.slice(-16)}:${session.tenant ?? ''}` : '';
  useEffect(() => {
    if (!session || session.viewer) return;
    setError(null);
    gql<{ viewer: Viewer }>('{ viewer { subject tenant role kind } }').then(
      ({ viewer }) => {
        if (viewer.kind === 'AGENT') signOut('This is an agent token: agents cannot use the interface. Sign in with a user token.');
        else setViewer(viewer);
      },
      (e: Error) => setError(e),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, session?.viewer]);
  useEffect(() => {
    if (session && pathname === '/sign-in') navigate('/', { replace: true });
  }, [session, pathname]);
  // After an in-app navigation, focus goes to the new page (as a page load would put it), so a
  // screen reader starts reading there instead of staying on the link.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);

  if (!session) return <SignInPage />;
  const viewer = session.viewer;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          fluxo
        </Link>
        {viewer ? <Identity viewer={viewer} tenant={session.tenant} /> : null}
        <button type="button" className="link-button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <nav className="main-nav" aria-label="Main">
        <ul>
          {NAV.filter((item) => !item.permission || can(viewer, item.permission)).map((item) => {
            const current = item.to === '/' ? pathname === '/' || pathname === '/dashboard' : pathname === item.to || pathname.startsWith(`${item.to}/`);
            return (
              <li key={item.to}>
                <Link to={item.to} aria-current={current ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {error ? <ErrorBox error={error} title="Could not read who you are" /> : viewer ? <Page pathname={pathname} viewer={viewer} /> : <Loading what="your identity" />}
      </main>
    </>
  );
}

function Page({ pathname, viewer }: { pathname: string; viewer: Viewer }) {
  const [, section, id] = pathname.split('/').map(decodeURIComponent);
  switch (section) {
    case '':
    case 'dashboard':
      return <DashboardPage />;
    case 'runs':
      return id ? <RunPage id={id} viewer={viewer} key={id} /> : <RunsPage />;
    case 'flows':
      return id ? <FlowPage id={id} viewer={viewer} key={id} /> : <FlowsPage />;
    case 'agents':
      return <AgentsPage />;
    case 'audit':
      return <AuditPage viewer={viewer} />;
    case 'tables':
      return id ? <TablePage id={id} /> : <TablesPage />;
    case 'explorer':
      return (
        <Suspense fallback={<Loading what="the explorer" />}>
          <ExplorerPage />
        </Suspense>
      );
    default:
      return <h1>No page at {pathname}</h1>;
  }
}

/** Who is signed in, and for admins the tenant switcher. */
function Identity({ viewer, tenant }: { viewer: Viewer; tenant: string | null }) {
  const [tenants, setTenants] = useState<string[] | null>(null);
  const admin = can(viewer, 'listTenants');
  useEffect(() => {
    if (!admin) return;
    gql<{ tenants: string[] }>('{ tenants }').then(
      (data) => setTenants(data.tenants),
      () => setTenants([]),
    );
  }, [admin]);
  const role = viewer.role.toLowerCase().replace('_', '-');
  return (
    <div className="identity">
      {admin ? (
        <label className="tenant-switch">
          <span>Tenant</span>
          <select
            value={viewer.tenant}
            onChange={(event) => {
              switchTenant(event.target.value);
              navigate('/');
            }}
          >
            {[...new Set([viewer.tenant, ...(tenant ? [tenant] : []), ...(tenants ?? [])])].sort().map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <span className="tenant">{viewer.tenant}</span>
      )}
      <span className="who" title={viewer.subject}>
        {viewer.subject} <span className="role">({role})</span>
      </span>
    </div>
  );
}
