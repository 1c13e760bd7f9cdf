// The closed list of state reasons: the short code a flow-run state carries (`FlowRun.stateReason`,
// `StateTransition.reason`) next to its free-text message. The GraphQL field stays a String (old
// rows and old agents may carry other text), but every reason fluxo itself writes or branches on
// is one of these, so a typo is a compile error instead of a run nobody's filter matches.
// docs/states.md's reason table is rendered from `stateReasonInfo` and checked by a test.
import type { FlowRunStateType } from '../schema/generated/graphql.js';

/** Who writes a reason: the server (its services and the stores), an agent, or the flow's own process. */
export type StateReasonWriter = 'server' | 'agent' | 'child';

/** Every reason, with the states it goes with, who writes it, and what it means (docs/states.md). */
export const stateReasonInfo = {
  retry: { states: ['SCHEDULED'], writers: ['server'], meaning: 'the attempt ended FAILED, CRASHED or TIMED_OUT and flow-level retries remain: the next attempt is due after `retryDelaySeconds`' },
  restart: { states: ['SCHEDULED'], writers: ['server'], meaning: 'a user restarted a final run that did not succeed (`restartFlowRun`)' },
  cancelled: { states: ['CANCELLED'], writers: ['server', 'agent'], meaning: 'a user cancelled the run; written by the server for a run not yet claimed, by the agent once the child is gone' },
  'concurrency-skip': { states: ['CANCELLED'], writers: ['server'], meaning: "the flow's concurrency limit was full and its policy is SKIP" },
  'lease-expired': { states: ['CRASHED', 'CANCELLED'], writers: ['server'], meaning: 'the lease reaper found the lease expired: the agent or its child is gone (a CANCELLING run ends CANCELLED)' },
  'missing-secret': { states: ['FAILED'], writers: ['server', 'agent'], meaning: 'a secret the flow version declares has no value (the server checks at claim, the agent before spawning): nothing was spawned' },
  integrity: { states: ['FAILED'], writers: ['agent'], meaning: "the bundle's size or sha256 differs from what registration recorded, or its location is outside the agent's storage roots: nothing was spawned" },
  'load-error': { states: ['CRASHED'], writers: ['agent', 'child'], meaning: 'the bundle could not be fetched, or the flow could not be loaded or started in the child' },
  timeout: { states: ['TIMED_OUT'], writers: ['agent', 'child'], meaning: "the flow or a task exceeded its timeout; the flow's process group was killed" },
  'agent-stopped': { states: ['CRASHED'], writers: ['agent'], meaning: 'the agent stopped (shutdown) before the flow finished' },
  'agent-error': { states: ['CRASHED'], writers: ['agent'], meaning: 'the agent itself failed while running the flow' },
  memory: { states: ['FAILED'], writers: ['agent'], meaning: "the flow's process reached its heap limit (the agent's `--child-memory-mb`)" },
  signal: { states: ['FAILED'], writers: ['agent'], meaning: "the flow's process was killed by a signal" },
  'exit-code': { states: ['FAILED'], writers: ['agent'], meaning: "the flow's process exited with an unexpected code, or exited without a result" },
  exception: { states: ['FAILED'], writers: ['child'], meaning: 'the flow threw' },
  'invalid-parameters': { states: ['FAILED'], writers: ['child'], meaning: "the run's parameters do not match the flow's parameter schema" },
} as const satisfies Record<string, { states: readonly FlowRunStateType[]; writers: readonly StateReasonWriter[]; meaning: string }>;

/** A state reason fluxo writes. */
export type StateReason = keyof typeof stateReasonInfo;

/** Every state reason, in the order of {@link stateReasonInfo}. */
export const stateReasons = Object.keys(stateReasonInfo) as StateReason[];

/**
 * Reasons the flow's own process reports in its `result` failure (sdk/runtime/protocol.ts); the
 * agent passes them on as the run's reason.
 */
export const childFailureReasons = ['exception', 'timeout', 'load-error', 'invalid-parameters'] as const satisfies readonly StateReason[];
export type ChildFailureReason = (typeof childFailureReasons)[number];

const known: ReadonlySet<string> = new Set(stateReasons);

/**
 * Whether `reason` is one fluxo writes (a stored reason from elsewhere is shown, never branched on).
 *
 * @example isStateReason('lease-expired') // true
 */
export function isStateReason(reason: string | null | undefined): reason is StateReason {
  return typeof reason === 'string' && known.has(reason);
}
