import type { Migration } from './index.js';

// History fast in every view (issue 15; docs/benchmarks.md, History). task_runs_by_start keys a
// run's task runs in the order FlowRun.taskRuns pages them, so a page of a mapped run with tens of
// thousands of tasks is an index range, not a sort of them all. flow_runs_by_flow_state serves
// flowRuns filtered by flow and state at once: flow_runs_by_flow or flow_runs_by_state alone read
// every run of the flow (or of the state) newest first until a page matched the other filter
// (a rare flow's CANCELLED runs: ~14 ms on SQLite, ~10 ms p99 on PostgreSQL at 1M runs).
export const historyIndexes: Migration = {
  version: 12,
  name: 'history-indexes',
  sql: /* sql */ `
CREATE INDEX task_runs_by_start ON task_runs (flow_run_id, started_at, id);
CREATE INDEX flow_runs_by_flow_state ON flow_runs (tenant, flow_id, state, created_at DESC, id DESC);
`,
};
