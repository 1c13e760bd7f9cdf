// Loads a bundled flow module into this process to read its flows: their definitions (for
// `fluxo register`) or the handles themselves (for `fluxo run`). The bundle that is imported is the
// very bytes that get uploaded, so what registration records is what agents will run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FluxoError, type ErrorCode } from '../common/errors.js';
import { RUNTIME_PROTOCOL_VERSION, FLOW_MARKER, asFlowHandle, type FlowDefinition, type FlowHandle } from '../sdk/runtime/protocol.js';
import { bundleFlowModule, type FlowBundle } from './bundle.js';
import type { LoadAnswer, LoadRequest } from './load-worker.js';

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

/** A flow of a bundle as data: what registration sends, without the function. */
export interface FlowOfBundle {
  exportName: string;
  definition: FlowDefinition;
}

/** Loads bundles to read their flows, several at once. */
export interface FlowLoader {
  /** The flows `bytes` exports; rejects with BAD_USER_INPUT as {@link loadFlowBundle} does. */
  load(bytes: Uint8Array, label: string): Promise<FlowOfBundle[]>;
  /** Ends the worker threads. */
  close(): Promise<void>;
}

/** Bundles one worker thread imports before it is replaced: each keeps ~2 MB of its bundle's zod and SDK alive. */
const LOADS_PER_WORKER = 40;

/**
 * A loader that imports bundles in up to `threads` worker threads (each a fresh module graph, so
 * bundles do not see each other, and a module that never lets go of its timers is ended with its
 * thread). Running from TypeScript source (tests), where no compiled worker exists, it loads in
 * this thread, one bundle at a time.
 *
 * @example
 * const loader = createFlowLoader(2);
 * const flows = await loader.load(bundle.bytes, 'flows/a.ts');
 * await loader.close();
 */
export function createFlowLoader(threads: number): FlowLoader {
  const script = fileURLToPath(new URL('./load-worker.js', import.meta.url));
  if (!existsSync(script)) {
    let queue = Promise.resolve();
    return {
      load(bytes, label) {
        const loaded = queue.then(async () => (await loadFlowBundle(bytes, label)).map(({ exportName, handle }) => ({ exportName, definition: handle.definition })));
        queue = loaded.then(() => undefined, () => undefined);
        return loaded;
      },
      close: async () => {},
    };
  }
  interface Job {
    request: LoadRequest;
    resolve: (flows: FlowOfBundle[]) => void;
    reject: (error: Error) => void;
    /** Already sent again after its thread ended under it. */
    retried: boolean;
  }
  interface Lane {
    worker: Worker;
    loads: number;
    job: Job | null;
  }
  const waiting: Job[] = [];
  const lanes = new Set<Lane>();
  let nextId = 0;
  let closed = false;

  const spawn = (): Lane => {
    const lane: Lane = { worker: new Worker(script), loads: 0, job: null };
    lane.worker.on('message', (answer: LoadAnswer) => {
      const job = lane.job;
      lane.job = null;
      if (job) {
        if ('error' in answer) job.reject(new FluxoError(answer.error.code as ErrorCode, answer.error.message));
        else job.resolve(answer.flows as FlowOfBundle[]);
      }
      if (lane.loads >= LOADS_PER_WORKER) {
        lanes.delete(lane);
        void lane.worker.terminate();
      }
      pump();
    });
    // A module that exits, or throws later (from a timer), ends its thread. The load in flight then
    // may be an innocent one that came after the culprit: it goes once more to a fresh thread, and
    // fails only if it ends that one too.
    const ended = (reason: string): void => {
      if (!lanes.delete(lane)) return;
      const job = lane.job;
      lane.job = null;
      void lane.worker.terminate();
      if (job && !job.retried) {
        job.retried = true;
        waiting.unshift(job);
      } else {
        job?.reject(new FluxoError('BAD_USER_INPUT', `cannot load ${job.request.label}: ${reason}`));
      }
      pump();
    };
    lane.worker.on('error', (error) => ended(error.message));
    lane.worker.on('exit', (code) => ended(`it ended its thread (exit code ${code})`));
    lanes.add(lane);
    return lane;
  };

  const pump = (): void => {
    while (!closed && waiting.length > 0) {
      let lane = [...lanes].find((candidate) => candidate.job === null && candidate.loads < LOADS_PER_WORKER);
      if (!lane) {
        if (lanes.size >= threads) return;
        lane = spawn();
      }
      const job = waiting.shift()!;
      lane.job = job;
      lane.loads++;
      lane.worker.postMessage(job.request);
    }
  };

  return {
    load(bytes, label) {
      return new Promise<FlowOfBundle[]>((resolve, reject) => {
        waiting.push({ request: { id: nextId++, bytes, label }, resolve, reject, retried: false });
        pump();
      });
    },
    async close() {
      closed = true;
      const ending = [...lanes];
      lanes.clear();
      await Promise.all(ending.map((lane) => lane.worker.terminate()));
    },
  };
}
