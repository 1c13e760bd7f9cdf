// Checks of the result pointer and inputs hash an agent sends with a task state. The server never
// reads the result: it only keeps a location, a digest and a size the agent verifies later.
import { FluxoError } from '../../common/errors.js';
import type { TaskStateWrite } from '../store/store.js';
import { MAX_RESULT_BYTES } from './restart.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** BAD_USER_INPUT unless the write's result (SUCCESS only) and inputs hash are well formed. */
export function checkTaskResult(write: TaskStateWrite): void {
  const bad = (message: string): never => {
    throw new FluxoError('BAD_USER_INPUT', `task ${write.key.slice(0, 300)}: ${message}`);
  };
  if (write.inputsHash != null && !HEX64.test(write.inputsHash)) bad('inputsHash must be 64 lowercase hex characters');
  const result = write.result;
  if (result == null) return;
  if (write.state !== 'SUCCESS') bad('a result goes only with SUCCESS');
  if (typeof result.uri !== 'string' || result.uri.length === 0 || result.uri.length > 2000) bad('result uri must be 1 to 2000 characters');
  if (!/^(file:\/\/\/|gs:\/\/)/.test(result.uri)) bad('result uri must be file:/// or gs://');
  if (!HEX64.test(result.sha256)) bad('result sha256 must be 64 lowercase hex characters');
  if (!Number.isInteger(result.size) || result.size < 0 || result.size > MAX_RESULT_BYTES) bad(`result size must be an integer from 0 to ${MAX_RESULT_BYTES}`);
}
