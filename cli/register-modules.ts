// The work of `fluxo register`, for a whole repository of flows: find the modules, bundle them in
// batches (or take unchanged ones from the cache), load their flow definitions in worker threads,
// ask the server once which digests it already records, upload only the others, and register in
// batches of `registerFlows`, retried when the answer was lost. Each module and each flow
// succeeds or fails alone; the report says which and why.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GraphQLClient } from '../client/graphql-client.js';
import { FluxoError } from '../common/errors.js';
import type {
  KnownBundlesQuery,
  KnownBundlesQueryVariables,
  RegisterFlowInput,
  RegisterFlowsMutation,
  RegisterFlowsMutationVariables,
  ViewerQuery,
} from '../schema/generated/operations.js';
import type { ClockDefinition } from '../sdk/runtime/protocol.js';
import { codeStorageFor } from '../storage/code-storage.js';
import { bundleFlowModules } from './bundle.js';
import { BundleCache, defaultCacheDir } from './bundle-cache.js';
import { findFlowModules } from './find-flow-modules.js';
import { createFlowLoader, type FlowLoader, type FlowOfBundle } from './load-flows.js';
import { withRetry } from './retry.js';

/** How one flow (or one module that yielded none) came out. */
export type FlowStatus = 'new' | 'unchanged' | 'failed';

/** One line of the report: a flow, or a module that failed before it had flows (`name` null). */
export interface RegisteredFlow {
  path: string;
  name: string | null;
  exportName: string | null;
  status: FlowStatus;
  version: number | null;
  flowVersionId: string | null;
  storageUri: string | null;
  sha256: string | null;
  size: number | null;
  error: { code: string; message: string } | null;
}

/** What `fluxo register --json` prints. */
export interface RegistrationReport {
  summary: { new: number; unchanged: number; failed: number; skipped: number; uploaded: number };
  flows: RegisteredFlow[];
}

/** The phases progress is reported for. */
export type RegistrationPhase = 'bundling' | 'uploading' | 'registering';

export interface RegisterFlowFilesOptions {
  /** Files, directories (walked for .ts/.mts/.js/.mjs) and globs. */
  paths: string[];
  project: string;
  /**
   * Code storage base URI (`file:///dir`, `gs://bucket/prefix`) or a local directory; `{tenant}`
   * in it is replaced by the caller's tenant (`gs://fluxo-code/{tenant}`).
   */
  storage: string;
  /** Overrides every flow's own labels when given. */
  labels?: string[] | undefined;
  /** How the schedule of a flow registered with clocks for the first time starts. @default the server's (ACTIVE) */
  scheduleState?: 'ACTIVE' | 'PAUSED' | undefined;
  /** Bundles loaded and uploaded at once. @default the number of CPUs, at least 2 */
  concurrency?: number | undefined;
  /** The registration cache's directory, or false for none. @default defaultCacheDir() */
  cacheDir?: string | false | undefined;
  /** Told as each phase advances. */
  onProgress?: ((phase: RegistrationPhase, done: number, total: number) => void) | undefined;
}

/** Most items of one registerFlows request (the server's limit). */
const BATCH_ITEMS = 100;
/**
 * Largest registerFlows request body: half the proxy's default limit (1 MiB), so a batch of 100
 * flows with parameter schemas of a few KB fits with room to spare; a bigger batch is split.
 */
const BATCH_BYTES = 512 * 1024;
/** Digests per knownBundles request (the server's limit). */
const KNOWN_CHUNK = 1000;

const KNOWN_BUNDLES = /* GraphQL */ `
  query KnownBundles($sha256: [String!]!) {
    knownBundles(sha256: $sha256) { sha256 storageUri }
  }
`;

const REGISTER_FLOWS = /* GraphQL */ `
  mutation RegisterFlows($inputs: [RegisterFlowInput!]!) {
    registerFlows(inputs: $inputs) {
      created
      flowVersion { id number }
      error { code message }
    }
  }
`;

/** A module on its way through the phases. */
interface ModuleState {
  path: string;
  explicit: boolean;
  sha256?: string;
  size?: number;
  bytes?: Uint8Array;
  flows?: FlowOfBundle[];
  storageUri?: string;
  error?: { code: string; message: string };
  skipped?: boolean;
}

/**
 * Bundles, uploads and registers every flow of every module under `paths`. Never throws for one
 * module or flow (it becomes a `failed` line); throws when nothing can be done at all (bad storage,
 * the API unreachable or refusing the token on its first request).
 *
 * @example
 * const report = await registerFlowFiles(client, { paths: ['flows/'], project: 'production', storage: 'gs://fluxo-code/{tenant}' });
 */
export async function registerFlowFiles(client: GraphQLClient, options: RegisterFlowFilesOptions): Promise<RegistrationReport> {
  const storage = codeStorageFor(toStorageUri(await withTenant(client, options.storage)));
  const concurrency = Math.max(1, options.concurrency ?? Math.max(2, availableParallelism()));
  const progress = options.onProgress ?? (() => {});
  const cache = options.cacheDir === false ? null : new BundleCache(options.cacheDir ?? defaultCacheDir());
  const { modules: found, problems } = await findFlowModules(options.paths);
  const modules: ModuleState[] = found.map(({ path, explicit }) => ({ path, explicit }));
  const loader = createFlowLoader(concurrency);
  let uploaded = 0;
  try {
    // Unchanged modules come from the cache: neither bundled nor loaded.
    if (cache) {
      await mapConcurrently(modules, 16, async (module) => {
        const hit = await cache.bundleOf(resolve(module.path));
        const flows = hit && (await cache.definitionsOf(hit.sha256));
        if (hit && flows) accept(module, { ...hit, flows });
      });
    }
    const fromCache = modules.filter((module) => module.sha256 !== undefined).length;
    let bundled = fromCache;
    progress('bundling', bundled, modules.length);
    await bundleAndLoad(modules.filter((module) => module.sha256 === undefined), loader, cache, () => progress('bundling', ++bundled, modules.length));

    const expected = (sha256: string): string => `${storage.baseUri.replace(/\/+$/, '')}/${bundleKey(sha256)}`;
    const known = await knownBundles(client, digestsOf(modules));
    // A cached module whose bundle the server lacks must be bundled again to have bytes to upload;
    // if that gives another digest (the cache missed a change), ask about the new one too.
    const lacking = modules.filter((module) => module.flows?.length && !module.bytes && !reusable(known.get(module.sha256!), expected(module.sha256!)));
    if (lacking.length > 0) {
      const before = new Map(lacking.map((module) => [module, module.sha256]));
      for (const module of lacking) forget(module);
      await bundleAndLoad(lacking, loader, cache, () => {});
      const changed = lacking.filter((module) => module.sha256 !== undefined && module.sha256 !== before.get(module));
      for (const [sha256, uri] of await knownBundles(client, digestsOf(changed))) known.set(sha256, uri);
    }

    // Upload each missing bundle once, several at once; a failed upload fails its modules.
    const uploads = new Map<string, ModuleState[]>();
    for (const module of modules) {
      if (!module.flows?.length || module.error) continue;
      const uri = reusable(known.get(module.sha256!), expected(module.sha256!));
      if (uri) module.storageUri = uri;
      else uploads.set(module.sha256!, [...(uploads.get(module.sha256!) ?? []), module]);
    }
    let sent = 0;
    progress('uploading', 0, uploads.size);
    await mapConcurrently([...uploads.values()], concurrency * 2, async (sharing) => {
      const first = sharing[0]!;
      try {
        const { uri, created } = await storage.put(bundleKey(first.sha256!), first.bytes!);
        if (created) uploaded++;
        for (const module of sharing) module.storageUri = uri;
      } catch (error) {
        for (const module of sharing) module.error = codedError(error, `cannot upload ${first.path}`);
      }
      for (const module of sharing) delete module.bytes;
      progress('uploading', ++sent, uploads.size);
    });

    const lines = await registerAll(client, modules, options, progress);
    for (const problem of problems) lines.push(failedLine(problem.path, { code: 'BAD_USER_INPUT', message: problem.message }));
    const count = (status: FlowStatus): number => lines.filter((line) => line.status === status).length;
    return {
      summary: { new: count('new'), unchanged: count('unchanged'), failed: count('failed'), skipped: modules.filter((module) => module.skipped).length, uploaded },
      flows: lines,
    };
  } finally {
    await loader.close();
  }
}

function accept(module: ModuleState, found: { sha256: string; size: number; flows: FlowOfBundle[] }): void {
  module.sha256 = found.sha256;
  module.size = found.size;
  module.flows = found.flows;
}

function forget(module: ModuleState): void {
  delete module.sha256;
  delete module.size;
  delete module.flows;
}

/** Bundles `modules` in batches and loads each new bundle's flows (from the cache when seen before). */
async function bundleAndLoad(modules: ModuleState[], loader: FlowLoader, cache: BundleCache | null, onBundled: () => void): Promise<void> {
  if (modules.length === 0) return;
  const byPath = new Map(modules.map((module) => [module.path, module]));
  const loading: Promise<void>[] = [];
  await bundleFlowModules([...byPath.keys()], (result) => {
    const module = byPath.get(result.path)!;
    if ('error' in result) {
      module.error = codedError(result.error, `cannot bundle ${module.path}`);
      onBundled();
      return;
    }
    const { bundle } = result;
    // Not awaited: esbuild goes on with the next batch while worker threads load this one.
    loading.push(
      (async () => {
        try {
          const flows = (await cache?.definitionsOf(bundle.sha256)) ?? (await loader.load(bundle.bytes, module.path));
          accept(module, { sha256: bundle.sha256, size: bundle.bytes.byteLength, flows });
          module.bytes = bundle.bytes;
          await cache?.rememberDefinitions(bundle.sha256, flows);
          await cache?.rememberBundle(resolve(module.path), bundle);
        } catch (error) {
          module.error = codedError(error, `cannot load ${module.path}`);
        }
        onBundled();
      })(),
    );
  });
  await Promise.all(loading);
  for (const module of modules) {
    if (module.error || module.flows === undefined || module.flows.length > 0) continue;
    // Found by a walk or a glob, a module without flows is a helper; named on purpose, a mistake.
    if (module.explicit) module.error = { code: 'BAD_USER_INPUT', message: `${module.path} exports no fluxo flow (export the value flow(...) returns)` };
    else module.skipped = true;
  }
}

/** Distinct digests of the modules that have flows to register. */
function digestsOf(modules: ModuleState[]): string[] {
  return [...new Set(modules.filter((module) => module.flows?.length && !module.error).map((module) => module.sha256!))];
}

/** Where the server already records each of `digests` (chunks of 1,000, retried). */
async function knownBundles(client: GraphQLClient, digests: string[]): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for (let i = 0; i < digests.length; i += KNOWN_CHUNK) {
    const chunk = digests.slice(i, i + KNOWN_CHUNK);
    const data = await withRetry(() => client.request<KnownBundlesQuery>(KNOWN_BUNDLES, { sha256: chunk } satisfies KnownBundlesQueryVariables));
    for (const { sha256, storageUri } of data.knownBundles) known.set(sha256, storageUri);
  }
  return known;
}

/**
 * The recorded URI when it is where this registration would put the bundle (a gs:// URI pins a
 * generation after `#`, which the comparison ignores); undefined when the bundle must be uploaded
 * (unknown, or recorded in another storage).
 */
function reusable(recorded: string | undefined, expected: string): string | undefined {
  if (recorded === undefined) return undefined;
  return recorded.split('#')[0] === expected ? recorded : undefined;
}

/** Registers every flow of every module that got this far, in batches; returns the report's lines in module order. */
async function registerAll(client: GraphQLClient, modules: ModuleState[], options: RegisterFlowFilesOptions, progress: (phase: RegistrationPhase, done: number, total: number) => void): Promise<RegisteredFlow[]> {
  const lines: RegisteredFlow[] = [];
  const pending: { line: RegisteredFlow; input: RegisterFlowInput; bytes: number }[] = [];
  const owners = new Map<string, ModuleState>();
  for (const module of modules) {
    if (module.skipped) continue;
    if (module.error || !module.flows || module.storageUri === undefined || module.sha256 === undefined || module.size === undefined) {
      lines.push(failedLine(module.path, module.error ?? { code: 'INTERNAL_SERVER_ERROR', message: 'not bundled' }, module));
      continue;
    }
    const { storageUri, sha256, size } = module;
    for (const { exportName, definition } of module.flows) {
      const line: RegisteredFlow = { ...failedLine(module.path, null, module), name: definition.name, exportName };
      lines.push(line);
      // Two modules defining one flow would make each run register the other's version.
      const owner = owners.get(definition.name);
      if (owner && owner !== module) {
        line.error = { code: 'BAD_USER_INPUT', message: `flow "${definition.name}" is also defined by ${owner.path}; flow names must be unique in a project` };
        continue;
      }
      owners.set(definition.name, module);
      const input: RegisterFlowInput = {
        project: options.project,
        name: definition.name,
        storageUri,
        sha256,
        size,
        entrypoint: exportName,
        parameterSchema: definition.parameterSchema,
        defaultLabels: options.labels ?? definition.labels,
        // Bundles built by an SDK older than secrets or schedules have none.
        secrets: definition.secrets ?? [],
        retries: definition.retries,
        retryDelaySeconds: definition.retryDelaySeconds,
        timeoutSeconds: definition.timeoutSeconds,
        description: definition.description,
        ...scheduleInput(definition.schedules, definition.missedRuns, definition.catchUpLimit),
        // Bundles built before concurrency limits have none: no limit.
        ...(definition.concurrency
          ? { concurrencyLimit: definition.concurrency.limit, whenConcurrencyFull: definition.concurrency.whenFull === 'skip' ? 'SKIP' : 'QUEUE' }
          : {}),
        scheduleState: options.scheduleState,
      };
      pending.push({ line, input, bytes: Buffer.byteLength(JSON.stringify(input)) });
    }
  }
  const batches: (typeof pending)[] = [];
  let batch: typeof pending = [];
  let batchBytes = 0;
  for (const item of pending) {
    if (batch.length > 0 && (batch.length >= BATCH_ITEMS || batchBytes + item.bytes > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(item);
    batchBytes += item.bytes;
  }
  if (batch.length > 0) batches.push(batch);

  let done = 0;
  let stopped: { code: string; message: string } | null = null;
  progress('registering', 0, pending.length);
  for (const items of batches) {
    if (stopped) {
      for (const { line } of items) line.error = stopped;
      continue;
    }
    try {
      const { registerFlows } = await withRetry(() => client.request<RegisterFlowsMutation>(REGISTER_FLOWS, { inputs: items.map(({ input }) => input) } satisfies RegisterFlowsMutationVariables));
      for (const [i, { line }] of items.entries()) {
        const item = registerFlows[i];
        if (!item || item.error || !item.flowVersion) {
          line.error = item?.error ?? { code: 'INTERNAL_SERVER_ERROR', message: 'the server answered fewer items than it was sent' };
          continue;
        }
        Object.assign(line, { status: item.created ? 'new' : 'unchanged', version: item.flowVersion.number, flowVersionId: item.flowVersion.id, error: null });
      }
    } catch (error) {
      // Retries are spent (or the request was refused as a whole): the remaining batches would
      // meet the same, so they fail with this reason rather than wait for it again.
      stopped = codedError(error, 'cannot register');
      for (const { line } of items) line.error = stopped;
    }
    done += items.length;
    progress('registering', done, pending.length);
  }
  return lines;
}

/** The schedule fields of a RegisterFlowInput; none for a bundle whose SDK predates schedules. */
function scheduleInput(schedules: ClockDefinition[] | undefined, missedRuns: 'skip' | 'catch-up' | undefined, catchUpLimit: number | undefined): Record<string, unknown> {
  if (schedules === undefined) return {};
  return {
    schedules: schedules.map((clock) => ({
      cron: clock.cron,
      timezone: clock.timezone,
      everySeconds: clock.everySeconds,
      anchor: clock.anchor,
      parameters: clock.parameters ?? {},
      labels: clock.labels,
    })),
    missedRuns: missedRuns === 'catch-up' ? 'CATCH_UP' : 'SKIP',
    catchUpLimit,
  };
}

function failedLine(path: string, error: { code: string; message: string } | null, module?: ModuleState): RegisteredFlow {
  return {
    path,
    name: null,
    exportName: null,
    status: 'failed',
    version: null,
    flowVersionId: null,
    storageUri: module?.storageUri ?? null,
    sha256: module?.sha256 ?? null,
    size: module?.size ?? null,
    error,
  };
}

function codedError(error: unknown, context: string): { code: string; message: string } {
  if (error instanceof FluxoError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'SERVICE_UNAVAILABLE', message: `${context}: ${message}` };
}

/** The storage key of a bundle: content-addressed. */
function bundleKey(sha256: string): string {
  return `bundles/${sha256}.mjs`;
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function mapConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Fills `{tenant}` in a storage template (`gs://fluxo-code/{tenant}`, the same template as the
 * server's `--storage-root`) with the caller's tenant, which the `viewer` query tells.
 */
async function withTenant(client: GraphQLClient, storage: string): Promise<string> {
  if (!storage.includes('{tenant}')) return storage;
  const { viewer } = await withRetry(() => client.request<ViewerQuery>('query Viewer { viewer { tenant } }'));
  return storage.replaceAll('{tenant}', viewer.tenant);
}

/** A URI as is; a plain path becomes a `file://` URI of its absolute form. */
function toStorageUri(storage: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(storage) ? storage : pathToFileURL(resolve(storage)).href;
}
