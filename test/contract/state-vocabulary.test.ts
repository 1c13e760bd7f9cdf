// The state vocabulary has one home (contract/states.ts, contract/state-reasons.ts). This checks
// that it agrees with the schema, that docs/states.md shows the contract's lists (rendered here,
// printed to paste when they differ, like docs/api.md's error table), and that every state reason
// a server or agent source file writes or compares is in the closed list.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildSchema, type GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { childFailureReasons, isStateReason, stateReasonInfo, stateReasons } from '../../contract/state-reasons.js';
import {
  activeStates,
  finalStates,
  finalTaskRunStates,
  isFinalState,
  leasedStates,
  restartableStates,
  retryableStates,
  runStates,
  sqlStateList,
  taskRunStates,
} from '../../contract/states.js';
import { typeDefs } from '../../schema/generated/sdl.js';
import { repoRoot } from '../support/harness.js';

const code = (values: readonly string[]): string => values.map((v) => `\`${v}\``).join(', ');

/** The state groups as docs/states.md shows them. */
function renderStateGroups(): string {
  return [
    '| group | states | meaning |',
    '|---|---|---|',
    `| final | ${code(finalStates)} | the attempt ended; the child is gone and no lease is held |`,
    `| retryable | ${code(retryableStates)} | final, unless flow-level retries remain (then SCHEDULED with reason \`retry\`) |`,
    `| restartable | ${code(restartableStates)} | \`restartFlowRun\` accepts them |`,
    `| leased | ${code(leasedStates)} | an agent holds a lease; the run holds a concurrency slot |`,
    `| active | ${code(activeStates)} | not final: waiting to be claimed, or leased |`,
    `| task run | ${code(taskRunStates)} | what a task run reports; ${code(finalTaskRunStates)} end its attempt |`,
  ].join('\n');
}

/** The closed list of state reasons as docs/states.md shows it. */
function renderReasons(): string {
  const lines = ['| reason | state | written by | meaning |', '|---|---|---|---|'];
  for (const reason of stateReasons) {
    const info = stateReasonInfo[reason];
    lines.push(`| \`${reason}\` | ${info.states.join(', ')} | ${info.writers.join(', ')} | ${info.meaning.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}

async function* sources(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated' && entry.name !== 'migrations') yield* sources(path);
    } else if (entry.name.endsWith('.ts')) yield path;
  }
}

// How a state reason appears in code: a SQL write or comparison, a transition record, a finish.
const REASON_LITERALS = [/state_reason = '([^']+)'/g, /\breason(?:\?)? *(?:===|!==) *'([^']+)'/g, /\br\.reason = '([^']+)'/g, /\breason: '([^']+)'/g, /readonly reason = '([^']+)'/g];
// Reasons with another meaning that share the word: the agent's shutdown event, the metrics
// page's readiness text, a notification's own cause, a typeof check.
const NOT_STATE_REASONS = new Set(['agent/agent.ts:stopped', 'agent/agent.ts:fatal', 'agent/events.ts:stopped', 'sdk/runtime/failure.ts:string', 'agent/metrics.ts:fatal', 'agent/metrics.ts:not registered yet', 'server/store/sqlite/notifications.ts:late', 'server/store/postgres/notifications.ts:late']);

describe('the state vocabulary', () => {
  it('lists every state of the schema, in the schema order of its enum', () => {
    const values = (buildSchema(typeDefs).getType('FlowRunStateType') as GraphQLEnumType).getValues().map((v) => v.name);
    expect([...runStates]).toEqual(values);
  });

  it('places every state in exactly one of final, active, or the task-only RETRYING', () => {
    for (const state of runStates) {
      const places = [isFinalState(state), (activeStates as readonly string[]).includes(state), state === 'RETRYING'].filter(Boolean);
      expect(places, state).toHaveLength(1);
    }
  });

  it('builds SQL lists from the contract and refuses a value that is no state', () => {
    expect(sqlStateList(leasedStates)).toBe("('SUBMITTED', 'RUNNING', 'CANCELLING')");
    expect(() => sqlStateList(["RUNNING'); DROP TABLE flow_runs; --" as never])).toThrow(TypeError);
  });

  it('keeps the child failure reasons inside the closed list', () => {
    for (const reason of childFailureReasons) expect(isStateReason(reason), reason).toBe(true);
    expect(isStateReason('lease-expired')).toBe(true);
    expect(isStateReason('LEASE_EXPIRED')).toBe(false);
    expect(isStateReason(null)).toBe(false);
  });

  it('finds every state reason the server, the agent and the SDK write or compare in the closed list', async () => {
    const found: string[] = [];
    for (const part of ['server', 'agent', 'sdk', 'cli']) {
      for await (const file of sources(join(repoRoot, part))) {
        const text = await readFile(file, 'utf8');
        const path = relative(repoRoot, file);
        for (const pattern of REASON_LITERALS) {
          for (const match of text.matchAll(pattern)) {
            const reason = match[1]!;
            if (!NOT_STATE_REASONS.has(`${path}:${reason}`)) found.push(`${path}:${reason}`);
          }
        }
      }
    }
    expect(found.length).toBeGreaterThan(10);
    expect(found.filter((entry) => !isStateReason(entry.slice(entry.lastIndexOf(':') + 1)))).toEqual([]);
  });

  it('is what docs/states.md shows', async () => {
    const doc = await readFile(join(repoRoot, 'docs', 'states.md'), 'utf8');
    const groups = /<!-- state-groups:start -->\n([\s\S]*?)\n<!-- state-groups:end -->/.exec(doc)?.[1];
    const reasons = /<!-- state-reasons:start -->\n([\s\S]*?)\n<!-- state-reasons:end -->/.exec(doc)?.[1];
    expect(groups, `paste between the state-groups markers of docs/states.md:\n\n${renderStateGroups()}\n`).toBe(renderStateGroups());
    expect(reasons, `paste between the state-reasons markers of docs/states.md:\n\n${renderReasons()}\n`).toBe(renderReasons());
  });
});
