// Who is signed in: the bearer token (pasted, or from the identity provider), the tenant an admin
// switched to, and what the API says the caller is (`viewer`). The token lives in sessionStorage:
// it survives a reload of the tab but not the tab itself, and it is never put in a URL.

/** The caller as `viewer` answers it. */
export interface Viewer {
  subject: string;
  tenant: string;
  role: 'ADMIN' | 'TENANT_ADMIN' | 'DEVELOPER' | 'VIEWER' | 'AGENT' | 'CI';
  kind: 'USER' | 'AGENT';
}

export interface Session {
  token: string;
  /** The tenant an admin acts in (sent as `x-fluxo-tenant`); null: the token's own. */
  tenant: string | null;
  viewer: Viewer | null;
}

const TOKEN_KEY = 'fluxo.token';
const TENANT_KEY = 'fluxo.tenant';

let current: Session | null = read();
const listeners = new Set<() => void>();

function read(): Session | null {
  try {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { token, tenant: sessionStorage.getItem(TENANT_KEY), viewer: null } : null;
  } catch {
    return null;
  }
}

function emit(): void {
  for (const listener of listeners) listener();
}

/** The current session, or null when signed out. */
export function getSession(): Session | null {
  return current;
}

/** Calls `listener` on every change; returns the unsubscribe function. */
export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Starts a session with a token (not yet checked: the caller asks `viewer` next). */
export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(TENANT_KEY);
  current = { token, tenant: null, viewer: null };
  emit();
}

/** Records what the API says the caller is. */
export function setViewer(viewer: Viewer): void {
  if (!current) return;
  current = { ...current, viewer };
  emit();
}

/** An admin acts in another tenant (null: its own). */
export function switchTenant(tenant: string | null): void {
  if (!current) return;
  if (tenant) sessionStorage.setItem(TENANT_KEY, tenant);
  else sessionStorage.removeItem(TENANT_KEY);
  current = { ...current, tenant, viewer: null };
  emit();
}

/** Forgets the token; `reason` is shown on the sign-in page. */
export function signOut(reason?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(TENANT_KEY);
  if (reason) sessionStorage.setItem('fluxo.signedOut', reason);
  current = null;
  emit();
}

/** Why the last session ended (shown once). */
export function takeSignOutReason(): string | null {
  const reason = sessionStorage.getItem('fluxo.signedOut');
  sessionStorage.removeItem('fluxo.signedOut');
  return reason;
}
