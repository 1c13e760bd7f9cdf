// Which runs `restartFlowRun` accepts: the final states that did not succeed. Shared by the
// service's docs and both stores' checks (each checks under its own lock).
import { restartableStates as restartableStateList } from '../../contract/states.js';
import type { FlowRunStateType } from '../store/records.js';

/** States a run may be restarted from. */
export const restartableStates: readonly FlowRunStateType[] = restartableStateList;
