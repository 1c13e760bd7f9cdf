// What a refused call answered, for tests that assert `{ code, message }` rather than "it throws".
import { FluxoError } from '../../common/errors.js';

/**
 * The code and message of the FluxoError `promise` rejects with. Fails the test when it resolves,
 * and rethrows anything that is not a FluxoError (a bug, not a refusal).
 *
 * @example expect(await refusalOf(service.createFlowRun(viewer, input))).toEqual({ code: 'FORBIDDEN', message: '...' })
 */
export async function refusalOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FluxoError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal (a FluxoError), but the call succeeded');
}
