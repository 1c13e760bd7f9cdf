import type { Migration } from './index.js';

// SQLite's 013-late-run-entries in PostgreSQL types (see there for the reasons). A column with a
// constant default, or none, changes only the catalog: no table rewrite.
export const lateRunEntries: Migration = {
  version: 13,
  name: 'late-run-entries',
  sql: /* sql */ `
ALTER TABLE logs ADD COLUMN late boolean NOT NULL DEFAULT false;
ALTER TABLE state_transitions ADD COLUMN late boolean NOT NULL DEFAULT false;
ALTER TABLE state_transitions ADD COLUMN agent_id text COLLATE "C";
`,
};
