// A worker thread of `fluxo register`'s loader pool (load-flows.ts): imports the bundles it is
// sent and answers with their flow definitions. Importing a bundle evaluates its own copy of zod
// and the SDK (~40 ms, ~2 MB that is never freed), so the pool spreads imports over threads and
// replaces a thread after a few dozen bundles.
import { parentPort } from 'node:worker_threads';
import { FluxoError } from '../common/errors.js';
import { loadFlowBundle } from './load-flows.js';

/** A bundle to load. */
export interface LoadRequest {
  id: number;
  bytes: Uint8Array;
  label: string;
}

/** The flows of a bundle, or why it could not be loaded. */
export type LoadAnswer =
  | { id: number; flows: { exportName: string; definition: unknown }[] }
  | { id: number; error: { code: string; message: string } };

parentPort?.on('message', async ({ id, bytes, label }: LoadRequest) => {
  let answer: LoadAnswer;
  try {
    const flows = await loadFlowBundle(bytes, label);
    // Definitions are wire data; the JSON round trip drops anything a structured clone would refuse.
    answer = { id, flows: flows.map(({ exportName, handle }) => ({ exportName, definition: JSON.parse(JSON.stringify(handle.definition)) as unknown })) };
  } catch (error) {
    const code = error instanceof FluxoError ? error.code : 'BAD_USER_INPUT';
    answer = { id, error: { code, message: error instanceof Error ? error.message : String(error) } };
  }
  parentPort?.postMessage(answer);
});
