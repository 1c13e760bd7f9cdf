// Which request paths belong to the web interface (ui/, built into dist/ui). The proxy forwards GET
// and HEAD of these without a token and the server answers them without an identity: they are the
// same static files for everyone, and the API (/graphql) keeps every check. One list, read by both
// sides, so the two can never disagree about what is public.

/** Top-level page routes of the single-page app; `/runs/<id>` and the like fall back to index.html. */
export const UI_PAGE_ROUTES = ['dashboard', 'runs', 'flows', 'agents', 'audit', 'tables', 'explorer', 'sign-in'] as const;

/** Where Vite puts hashed, immutable build outputs. */
export const UI_ASSETS_PREFIX = '/assets/';

/** Answered by the proxy itself: how a browser may sign in (OIDC issuers offered to browsers). */
export const UI_CONFIG_PATH = '/ui-config.json';

/** Files at the root of the build that are not pages. */
const ROOT_FILES = new Set(['/index.html', '/favicon.svg', '/robots.txt']);

const pagePattern = new RegExp(`^/(?:${UI_PAGE_ROUTES.join('|')})(?:/[A-Za-z0-9._~%-]*)*$`);

/**
 * Whether `pathname` is one of the interface's public paths: `/`, a page route, a root file or a
 * build asset. Paths with `..` or a backslash are never UI paths (they would only be refused later).
 *
 * @example isUiPath('/runs/01J9...') // true
 * @example isUiPath('/graphql') // false
 */
export function isUiPath(pathname: string): boolean {
  if (pathname.includes('..') || pathname.includes('\\')) return false;
  if (pathname === '/' || ROOT_FILES.has(pathname) || pathname === UI_CONFIG_PATH) return true;
  if (pathname.startsWith(UI_ASSETS_PREFIX)) return /^\/assets\/[A-Za-z0-9._-]+$/.test(pathname);
  return pagePattern.test(pathname);
}

/** Whether a UI path names a page (answered with index.html) rather than a file. */
export function isUiPage(pathname: string): boolean {
  return pathname === '/' || pagePattern.test(pathname);
}
