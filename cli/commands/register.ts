// `fluxo register PATHS --project P`: bundle each flow module, upload the bundle content-addressed
// (`bundles/<sha256>.mjs`, create-only) and record one flow version per exported flow. The server
// creates a version only when the content hash differs, so CI can register on every push.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { clientFrom, parseLabels, withApiOptions, type ApiOptions } from '../api-options.js';
import { loadFlowFile } from '../load-flows.js';

/** What `fluxo register` reports per flow. */
export interface RegisteredFlow {
  path: string;
  name: string;
  exportName: string;
  flowVersionId: string;
  version: number;
  /** False when the same content was registered before and the existing version came back. */
  created: boolean;
  storageUri: string;
  sha256: string;
  size: number;
}

export interface RegisterFlowFilesOptions {
  paths: string[];
  project: string;
  /**
   * Code storage base URI (`file:///dir`, `gs://bucket/prefix`) or a local directory; `{tenant}`
   * in it is replaced by the caller's tenant (`gs://fluxo-code/{tenant}`).
   */
  storage: string;
  /** Overrides every flow's own labels when given. */
  labels?: string[] | undefined;
}

const REGISTER_FLOW = /* GraphQL */ `
  mutation RegisterFlow($input: RegisterFlowInput!) {
    registerFlow(input: $input) {
      created
      flowVersion { id number }
    }
  }
`;

interface RegisterFlowData {
  registerFlow: { created: boolean; flowVersion: { id: string; number: number } };
}

interface RegisterCommandOptions extends ApiOptions {
  project: string;
  labels?: string;
  storage?: string;
}

/** Registers `fluxo register`. */
export function registerRegisterCommand(program: Command): void {
  withApiOptions(
    program
      .command('register')
      .description('bundle flow modules, upload them to code storage and register their flows')
      .argument('<paths...>', 'flow modules (.ts or .js); every exported flow is registered')
      .requiredOption('--project <name>', 'project to register into (env FLUXO_PROJECT)', process.env.FLUXO_PROJECT || undefined)
      .option('--labels <a,b>', "default routing labels, replacing the flows' own")
      .option('--storage <uri>', "code storage: file:///dir, gs://bucket/prefix or a local directory; {tenant} becomes the caller's tenant, e.g. gs://fluxo-code/{tenant} (env FLUXO_STORAGE)", process.env.FLUXO_STORAGE || undefined),
  ).action(async (paths: string[], options: RegisterCommandOptions) => {
    if (!options.storage) throw new FluxoError('BAD_USER_INPUT', 'no code storage: pass --storage or set FLUXO_STORAGE');
    const client = clientFrom(options);
    try {
      const registered = await registerFlowFiles(client, {
        paths,
        project: options.project,
        storage: options.storage,
        labels: options.labels === undefined ? undefined : parseLabels(options.labels),
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(registered, null, 2)}\n`);
      } else {
        for (const flow of registered) process.stdout.write(`${flow.created ? 'registered' : 'unchanged'} ${flow.name} v${flow.version}\n`);
      }
    } finally {
      await client.close();
    }
  });
}

/**
 * Bundles, uploads and registers every flow of every path, in order. Every path is bundled and
 * loaded before anything is uploaded, so one module that fails to load registers nothing at all.
 *
 * @example
 * await registerFlowFiles(client, { paths: ['examples/retry.ts'], project: 'production', storage: 'file:///var/lib/fluxo/code' });
 */
export async function registerFlowFiles(client: GraphQLClient, options: RegisterFlowFilesOptions): Promise<RegisteredFlow[]> {
  const storage = codeStorageFor(toStorageUri(await withTenant(client, options.storage)));
  const registered: RegisteredFlow[] = [];
  const modules = [];
  for (const path of options.paths) modules.push({ path, ...(await loadFlowFile(path)) });
  for (const { path, bundle, flows } of modules) {
    const { uri } = await storage.put(`bundles/${bundle.sha256}.mjs`, bundle.bytes);
    for (const { exportName, handle } of flows) {
      const { definition } = handle;
      const { registerFlow } = await client.request<RegisterFlowData>(REGISTER_FLOW, {
        input: {
          project: options.project,
          name: definition.name,
          storageUri: uri,
          sha256: bundle.sha256,
          size: bundle.bytes.byteLength,
          entrypoint: exportName,
          parameterSchema: definition.parameterSchema,
          defaultLabels: options.labels ?? definition.labels,
          // Bundles built by an SDK older than secrets have none.
          secrets: definition.secrets ?? [],
          retries: definition.retries,
          retryDelaySeconds: definition.retryDelaySeconds,
          timeoutSeconds: definition.timeoutSeconds,
          description: definition.description,
        },
      });
      registered.push({
        path,
        name: definition.name,
        exportName,
        flowVersionId: registerFlow.flowVersion.id,
        version: registerFlow.flowVersion.number,
        created: registerFlow.created,
        storageUri: uri,
        sha256: bundle.sha256,
        size: bundle.bytes.byteLength,
      });
    }
  }
  return registered;
}

/**
 * Fills `{tenant}` in a storage template (`gs://fluxo-code/{tenant}`, the same template as the
 * server's `--storage-root`) with the caller's tenant, which the `viewer` query tells.
 */
async function withTenant(client: GraphQLClient, storage: string): Promise<string> {
  if (!storage.includes('{tenant}')) return storage;
  const { viewer } = await client.request<{ viewer: { tenant: string } }>('query Viewer { viewer { tenant } }');
  return storage.replaceAll('{tenant}', viewer.tenant);
}

/** A URI as is; a plain path becomes a `file://` URI of its absolute form. */
function toStorageUri(storage: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(storage) ? storage : pathToFileURL(resolve(storage)).href;
}
