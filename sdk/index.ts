// The `fluxo` package as flow authors import it. It is bundled into every flow bundle, so it stays
// small: no zod (the author's schema brings its own), no server or agent code.
export { flow, type ClockParametersOf, type Flow, type FlowOptions, type ParametersOf } from './flow.js';
export type { ClockOptions, CronClockOptions, IntervalClockOptions, MissedRuns } from './schedules.js';
export { task, type Task, type TaskOptions } from './task.js';
export { getLogger, type Logger } from './logger.js';
export { FlowFailure, TaskTimeoutError } from './runtime/failure.js';
export type { ParameterSchema } from './standard-schema.js';
export type {
  ClockDefinition,
  FlowDefinition,
  FlowHandle,
  LogEvent,
  RuntimeHost,
  SerializedFailure,
  TaskStateEvent,
} from './runtime/protocol.js';
