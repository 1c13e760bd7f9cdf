// Where a bundle may live (issue 9, finding 7). A storage URI comes from a tenant's developer, so
// the server (at registration) and the agent (before fetching) both read it as hostile: only
// `file:///` and `gs://` in canonical form, never a dot segment, an empty segment or a system
// directory, and, when storage roots are configured, only inside the caller's tenant's root.
// Canonical means the URI is exactly what fluxo itself writes (`pathToFileURL`, `formatGcsUri`),
// so one string comparison after decoding proves what a URI names: `%2e%2e`, `//`, `/./` and
// `file://host/` are refused rather than interpreted.
import { lstat, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatGcsUri, parseGcsUri } from './gcs-uri.js';

/** A bundle location, decoded. */
export type StorageLocation =
  /** An absolute path without `.`, `..` or empty segments. */
  | { scheme: 'file'; path: string }
  /** An object name (or, for a root, a prefix; '' for a whole bucket). */
  | { scheme: 'gs'; bucket: string; name: string };

/** Top-level directories that hold devices and kernel interfaces, never bundles. */
const SYSTEM_DIRS = new Set(['dev', 'proc', 'sys']);
const TENANT_TEMPLATE = '{tenant}';

/**
 * Decodes a storage URI, or null when it is not a canonical `file:///` or `gs://` URI of a place a
 * bundle may be: the caller refuses null with its one generic answer.
 *
 * @example parseStorageLocation('file:///srv/fluxo/rj/bundles/ab.mjs') // { scheme: 'file', path: '/srv/fluxo/rj/bundles/ab.mjs' }
 * @example parseStorageLocation('file:///srv/../etc/passwd') // null
 */
export function parseStorageLocation(uri: string): StorageLocation | null {
  if (uri.startsWith('file:///')) return parseFileUri(uri);
  if (uri.startsWith('gs://')) return parseGsUri(uri);
  return null;
}

function parseFileUri(uri: string): StorageLocation | null {
  if (/[?#]/.test(uri)) return null;
  let path: string;
  try {
    path = decodeURIComponent(uri.slice('file://'.length));
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.slice(1).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return null;
  if (isSystemPath(path)) return null;
  if (pathToFileURL(path).href !== uri) return null;
  return { scheme: 'file', path };
}

function parseGsUri(uri: string): StorageLocation | null {
  let parsed;
  try {
    parsed = parseGcsUri(uri);
  } catch {
    return null;
  }
  if (formatGcsUri(parsed) !== uri) return null;
  return { scheme: 'gs', bucket: parsed.bucket, name: parsed.name };
}

/** True for an absolute path under /dev, /proc or /sys (or one of them). */
export function isSystemPath(path: string): boolean {
  return SYSTEM_DIRS.has(path.split('/')[1] ?? '');
}

/** True when `location` is strictly inside `root` (a root is never a bundle itself). */
export function isInside(location: StorageLocation, root: StorageLocation): boolean {
  if (location.scheme === 'file' && root.scheme === 'file') return location.path.startsWith(root.path === '/' ? '/' : `${root.path}/`);
  if (location.scheme === 'gs' && root.scheme === 'gs') {
    return location.bucket === root.bucket && location.name !== '' && (root.name === '' || location.name.startsWith(`${root.name}/`));
  }
  return false;
}

/** One configured root: for every tenant (a template with `{tenant}`), or for one tenant. */
interface RootEntry {
  tenant: string | null;
  template: string;
}

/**
 * The storage roots a server (or an agent) is configured with. Entries are URIs of a directory or
 * a bucket prefix, either a template naming `{tenant}` (`file:///srv/fluxo/{tenant}`,
 * `gs://fluxo-code/{tenant}`, `gs://fluxo-{tenant}`) or `<tenant>=<uri>` for one tenant. No
 * entries means unconfined: any canonical location is accepted.
 *
 * @example
 * const roots = StorageRoots.parse(['file:///srv/fluxo/{tenant}', 'rj-smtr=gs://smtr-bundles']);
 * roots.allows('rj-smtr', 'gs://smtr-bundles/rj-smtr/bundles/ab.mjs#7') // true
 */
export class StorageRoots {
  readonly #entries: readonly RootEntry[];

  private constructor(entries: readonly RootEntry[]) {
    this.#entries = entries;
  }

  /**
   * Validates the entries. Throws TypeError naming the bad entry (a configuration mistake, caught
   * at start). `requireTenant` refuses a template without `{tenant}`: on a shared server one root
   * for every tenant confines nobody.
   */
  static parse(entries: readonly string[], { requireTenant = false }: { requireTenant?: boolean } = {}): StorageRoots {
    const parsed: RootEntry[] = [];
    for (const raw of entries.map((entry) => entry.trim()).filter(Boolean)) {
      const assignment = /^([a-z0-9-]{1,63})=(.+)$/.exec(raw);
      const entry: RootEntry = assignment ? { tenant: assignment[1]!, template: assignment[2]!.replace(/\/+$/, '') } : { tenant: null, template: raw.replace(/\/+$/, '') };
      if (entry.tenant !== null && entry.template.includes(TENANT_TEMPLATE)) throw new TypeError(`storage root "${raw}" names a tenant and a {tenant} template; use one`);
      if (entry.tenant === null && requireTenant && !entry.template.includes(TENANT_TEMPLATE)) {
        throw new TypeError(`storage root "${raw}" has no {tenant}: every tenant would share it (use e.g. file:///srv/fluxo/{tenant}, or <tenant>=<uri>)`);
      }
      // `example-tenant` stands for any tenant name: tenants are lower-case letters, digits and '-'.
      if (rootLocation(entry.template.replaceAll(TENANT_TEMPLATE, 'example-tenant')) === null) {
        throw new TypeError(`storage root "${raw}" is not a canonical file:///absolute/dir or gs://bucket[/prefix] outside /dev, /proc and /sys`);
      }
      parsed.push(entry);
    }
    return new StorageRoots(parsed);
  }

  /** Whether any root is configured. */
  get configured(): boolean {
    return this.#entries.length > 0;
  }

  /** The roots of `tenant`, decoded (templates filled in); null: the plain entries only (an agent's). */
  rootsOf(tenant: string | null): StorageLocation[] {
    return this.#entries
      .filter((entry) => (tenant === null ? entry.tenant === null && !entry.template.includes(TENANT_TEMPLATE) : entry.tenant === null || entry.tenant === tenant))
      .map((entry) => rootLocation(tenant === null ? entry.template : entry.template.replaceAll(TENANT_TEMPLATE, tenant)))
      .filter((root): root is StorageLocation => root !== null);
  }

  /**
   * Whether `tenant` may keep a bundle at `uri`: a canonical location, inside one of its roots
   * when roots are configured.
   */
  allows(tenant: string | null, uri: string): boolean {
    const location = parseStorageLocation(uri);
    if (location === null) return false;
    if (!this.configured) return true;
    return this.rootsOf(tenant).some((root) => isInside(location, root));
  }

  /** Whether an entry is for one tenant or names `{tenant}`: it needs the tenant to apply. */
  get needsTenant(): boolean {
    return this.#entries.some((entry) => entry.tenant !== null || entry.template.includes(TENANT_TEMPLATE));
  }

  /** The configured entries, as given (for logs). */
  describe(): string[] {
    return this.#entries.map((entry) => (entry.tenant === null ? entry.template : `${entry.tenant}=${entry.template}`));
  }
}

/** A root: a canonical location, where a gs:// root may be a whole bucket. */
function rootLocation(uri: string): StorageLocation | null {
  if (uri === 'file:///') return { scheme: 'file', path: '/' };
  if (uri.includes('#')) return null;
  return parseStorageLocation(uri);
}

/**
 * What the file system says about a file:// location, where this process can see it: false when
 * the directory it is in, with every symbolic link resolved, leaves the roots (or, without roots,
 * lies under /dev, /proc or /sys), or when the object exists and is not a regular file (a link, a
 * device, a FIFO). A place that does not exist (yet, or on this host) passes: reading it later
 * reports it missing, and the reader opens it without following links (file-code-storage.ts).
 *
 * @example await filePlaceAllowed('/srv/fluxo/rj/bundles/ab.mjs', roots.rootsOf('rj'))
 */
export async function filePlaceAllowed(path: string, roots: readonly StorageLocation[] | null): Promise<boolean> {
  const directory = await realpath(dirname(path)).catch(() => null);
  if (directory !== null) {
    if (isSystemPath(directory)) return false;
    if (roots !== null && !(await insideRealRoot(directory, roots))) return false;
  }
  const info = await lstat(path).catch(() => null);
  return info === null || info.isFile();
}

async function insideRealRoot(directory: string, roots: readonly StorageLocation[]): Promise<boolean> {
  for (const root of roots) {
    if (root.scheme !== 'file') continue;
    const real = await realpath(root.path).catch(() => root.path);
    if (real === '/' || directory === real || directory.startsWith(`${real}/`)) return true;
  }
  return false;
}
