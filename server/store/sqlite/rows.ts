// Row shapes of the SQLite tables. SQLite keeps JSON columns (parameters, labels, schemas) as
// text: these rows decode them, then map through the shared mapping (../rows.ts).
import * as decoded from '../rows.js';
import type { AgentRecord, FlowRunRecord, FlowScheduleRecord, FlowVersionRecord } from '../records.js';

export { toLog, toProject, toFlow, toStateTransition, toTaskRun } from '../rows.js';
export type { LogRow, ProjectRow, FlowRow, StateTransitionRow, TaskRunRow } from '../rows.js';

/** Current database time in epoch ms, as a SQL expression. */
export const NOW_MS = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;

export type FlowVersionRow = Omit<decoded.FlowVersionRow, 'parameter_schema' | 'default_labels' | 'secrets' | 'clocks'> & {
  parameter_schema: string;
  default_labels: string;
  secrets: string;
  clocks: string;
};
export const toFlowVersion = (r: FlowVersionRow): FlowVersionRecord =>
  decoded.toFlowVersion({
    ...r,
    parameter_schema: JSON.parse(r.parameter_schema) as Record<string, unknown>,
    default_labels: JSON.parse(r.default_labels) as string[],
    secrets: JSON.parse(r.secrets) as string[],
    clocks: JSON.parse(r.clocks) as decoded.FlowVersionRow['clocks'],
  });

export type FlowRunRow = Omit<decoded.FlowRunRow, 'parameters' | 'labels'> & { parameters: string; labels: string };
export const toFlowRun = (r: FlowRunRow): FlowRunRecord =>
  decoded.toFlowRun({ ...r, parameters: JSON.parse(r.parameters) as unknown, labels: JSON.parse(r.labels) as string[] });

export type AgentRow = Omit<decoded.AgentRow, 'labels'> & { labels: string };
export const toAgent = (r: AgentRow): AgentRecord => decoded.toAgent({ ...r, labels: JSON.parse(r.labels) as string[] });

export type FlowScheduleRow = Omit<decoded.FlowScheduleRow, 'clock_keys'> & { clock_keys: string };
export const toFlowSchedule = (r: FlowScheduleRow, version: FlowVersionRecord, nextRunAt: number | null): FlowScheduleRecord =>
  decoded.toFlowSchedule({ ...r, clock_keys: JSON.parse(r.clock_keys) as string[] }, version, nextRunAt);
