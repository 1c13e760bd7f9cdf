// A crashed run's last words (issue 15), free of transports: a restarted agent delivers the task
// states and log lines it had spooled on disk for a run attempt it held when it stopped
// (deliverLateRunEntries). No lease proves the attempt was this agent's (it died with the process):
// the claim's transition does (agent id and token subject, migration 013), and anyone else gets
// NOT_FOUND, the answer for a run that does not exist. Entries are stored marked late and never
// change the run's state; task runs move only by the rule in store/late-entries-store.ts.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { EventBus } from './events.js';
import type { LogLineWrite, Store, TaskStateWrite } from '../store/store.js';
import { agentNotFound } from './agent-names.js';
import { checkTaskState, clipLogLines } from './agent-entries.js';
import { actorOf, authorize } from './authorize.js';
import { checkInt, checkString } from './validate-input.js';

/** Task states per late batch (LateRunEntriesInput.taskRunStates). */
export const MAX_LATE_STATES = 1_000;
/** Log lines per late batch (LateRunEntriesInput.logLines). */
export const MAX_LATE_LINES = 5_000;

/** deliverLateRunEntries' input, with timestamps already parsed. */
export interface LateRunEntriesArgs {
  agentId: string;
  flowRunId: string;
  attempt: number;
  batchId: string;
  states: TaskStateWrite[];
  lines: LogLineWrite[];
}

function bad(message: string): never {
  throw new FluxoError('BAD_USER_INPUT', message);
}

/**
 * Stores a late batch for the caller's agent and returns how many entries were recorded (0 for a
 * batch delivered before). Everything is checked before anything is written: BAD_USER_INPUT names
 * the first problem; NOT_FOUND for an agent id the caller's subject does not hold, or a run or
 * attempt that agent did not claim (another tenant's run answers the same).
 *
 * @example await deliverLateRunEntries(service, identity, { agentId, flowRunId, attempt: 1, batchId: 'r1:1:0', states: [], lines })
 */
export async function deliverLateRunEntries(deps: { store: Store; events: EventBus }, identity: Identity, args: LateRunEntriesArgs): Promise<number> {
  authorize(identity, 'agentWork');
  checkString('batchId', args.batchId, 100);
  checkInt('attempt', args.attempt, 1, 10_000, 1);
  if (args.states.length > MAX_LATE_STATES) bad(`taskRunStates: at most ${MAX_LATE_STATES.toLocaleString('en')} per batch, got ${args.states.length}`);
  if (args.lines.length > MAX_LATE_LINES) bad(`logLines: at most ${MAX_LATE_LINES.toLocaleString('en')} per batch, got ${args.lines.length}`);
  if (args.states.length === 0 && args.lines.length === 0) bad('a late batch needs at least one task state or log line');
  args.states.forEach((s, i) => checkTaskState(s, (name) => `taskRunStates[${i}].${name}`, `taskRunStates[${i}].state`));
  const agent = await deps.store.getAgent(identity.tenant, args.agentId);
  if (!agent || agent.subject !== identity.subject) throw agentNotFound(args.agentId);
  const lines = clipLogLines(args.lines);
  const result = await deps.store.deliverLateEntries(identity.tenant, {
    agentId: agent.id,
    subject: identity.subject,
    flowRunId: args.flowRunId,
    attempt: args.attempt,
    batchId: args.batchId,
    states: args.states,
    lines,
    actor: actorOf(identity),
  });
  if (result.lines.length > 0) deps.events.emit('run:logs', args.flowRunId, result.lines);
  return result.recorded;
}
