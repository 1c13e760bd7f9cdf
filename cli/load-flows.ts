// Loads a bundled flow module into this process to read its flows: their definitions (for
// `fluxo register`) or the handles themselves (for `fluxo run`). The bundle that is imported is the
// very bytes that get uploaded, so what registration records is what agents will run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FluxoError } from '../common/errors.js';
import { RUNTIME_PROTOCOL_VERSION, FLOW_MARKER, asFlowHandle, type FlowHandle } from '../sdk/runtime/protocol.js';
import { bundleFlowModule, type FlowBundle } from './bundle.js';

/** A flow a module exports, with the export's name (the version's `entrypoint`). */
export interface LoadedFlow {
  exportName: string;
  handle: FlowHandle;
}

/**
 * Imports bundle bytes (through a temporary `.mjs` file) and returns its exported flows, by export
 * name. Throws BAD_USER_INPUT when the module throws while loading.
 */
export async function loadFlowBundle(bytes: Uint8Array, label = 'the flow module'): Promise<LoadedFlow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fluxo-load-'));
  let module: Record<string, unknown>;
  try {
    const file = join(dir, 'flow.mjs');
    await writeFile(file, bytes);
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `cannot load ${label}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const flows: LoadedFlow[] = [];
  for (const [exportName, value] of Object.entries(module)) {
    const handle = asFlowHandle(value);
    if (!handle) continue;
    if (handle[FLOW_MARKER] !== RUNTIME_PROTOCOL_VERSION) {
      throw new FluxoError('BAD_USER_INPUT', `${label}: export "${exportName}" was built for runtime protocol ${String(handle[FLOW_MARKER])}; this fluxo speaks ${RUNTIME_PROTOCOL_VERSION}`);
    }
    flows.push({ exportName, handle });
  }
  return dedupe(flows, label);
}

/**
 * Bundles and loads a flow module; fails with BAD_USER_INPUT when it cannot be bundled or loaded,
 * or exports no flow.
 *
 * @example
 * const { bundle, flows } = await loadFlowFile('examples/retry.ts');
 */
export async function loadFlowFile(path: string): Promise<{ bundle: FlowBundle; flows: LoadedFlow[] }> {
  const bundle = await bundleFlowModule(path);
  const flows = await loadFlowBundle(bundle.bytes, path);
  if (flows.length === 0) {
    throw new FluxoError('BAD_USER_INPUT', `${path} exports no fluxo flow (export the value flow(...) returns)`);
  }
  return { bundle, flows };
}

/**
 * One entry per flow: the same handle exported twice (`export default x` and `export { x }`) keeps
 * its named export; two different flows with one name are a mistake the author must fix.
 */
function dedupe(flows: LoadedFlow[], label: string): LoadedFlow[] {
  const byName = new Map<string, LoadedFlow>();
  for (const loaded of flows) {
    const name = loaded.handle.definition.name;
    const seen = byName.get(name);
    if (!seen) {
      byName.set(name, loaded);
    } else if (seen.handle !== loaded.handle) {
      throw new FluxoError('BAD_USER_INPUT', `${label}: exports "${seen.exportName}" and "${loaded.exportName}" both define a flow named "${name}"`);
    } else if (seen.exportName === 'default') {
      byName.set(name, loaded);
    }
  }
  return [...byName.values()];
}
