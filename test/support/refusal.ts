// What a refused call answered, for tests that assert `{ code, message }` rather than "it throws".
// One helper for every coded error class (FluxoError on the server side, DataError on the data
// path), sync and async, so no test file grows its own copy.
import { FluxoError } from '../../common/errors.js';

/** The code and message a refusal carries. */
export interface Refusal {
  code: string;
  message: string;
}

/** An error class whose instances carry a stable `code` (FluxoError, DataError). */
export type CodedErrorClass = abstract new (...args: never[]) => Error & { code: string };

function refusalFrom(error: unknown, kind: CodedErrorClass): Refusal {
  if (error instanceof kind) return { code: error.code, message: error.message };
  // Anything else is a bug, not a refusal: let the test fail on the real error.
  throw error;
}

const succeeded = (kind: CodedErrorClass) => new Error(`expected a refusal (a ${kind.name}), but the call succeeded`);

/**
 * The code and message of the coded error `work` rejects (or throws) with. Fails the test when it
 * succeeds, and rethrows anything that is not a `kind` (a bug, not a refusal).
 *
 * @default kind FluxoError
 * @example expect(await refusalOf(service.createFlowRun(viewer, input))).toEqual({ code: 'FORBIDDEN', message: '...' })
 * @example expect(await refusalOf(() => lake.write(...), DataError)).toMatchObject({ code: 'DATA_PATH_INVALID' })
 */
export async function refusalOf(work: Promise<unknown> | (() => unknown), kind: CodedErrorClass = FluxoError): Promise<Refusal> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return refusalFrom(error, kind);
  }
  throw succeeded(kind);
}

/**
 * {@link refusalOf} for a synchronous call, where awaiting would hide that it throws at once.
 *
 * @default kind FluxoError
 * @example expect(refusalOfSync(() => parseClock(bad))).toMatchObject({ code: 'BAD_USER_INPUT' })
 */
export function refusalOfSync(work: () => unknown, kind: CodedErrorClass = FluxoError): Refusal {
  try {
    work();
  } catch (error) {
    return refusalFrom(error, kind);
  }
  throw succeeded(kind);
}
