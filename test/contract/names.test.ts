// One naming rule set (contract/names.ts) for every entry point. The same table of names and labels
// goes through the server's input checks, the agent's configuration, the SDK's definition-time
// checks and the contract itself: they must all accept or all refuse each example (before issue 15
// the server refused labels with "/" or over 63 characters that the agent accepted, and the SDK
// accepted flow names starting with "_" that the server refused at registration).
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../agent/config.js';
import { FluxoError } from '../../common/errors.js';
import { dataNameProblem, labelProblem, nameProblem, secretNameProblem } from '../../contract/names.js';
import { DATA_NAME_PATTERN } from '../../data/contract.js';
import { flow } from '../../sdk/flow.js';
import { task } from '../../sdk/task.js';
import { checkLabels, checkName, checkSecretNames } from '../../server/core/validate-input.js';

/** Whether `check` returns without throwing. */
function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (!(error instanceof FluxoError) && !(error instanceof TypeError)) throw error;
    return false;
  }
}

/** The code a refusal carries: FluxoError's code, or 'TypeError' for the SDK's definition-time misuse. */
function refusalCode(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (error) {
    if (error instanceof FluxoError) return error.code;
    if (error instanceof TypeError) return 'TypeError';
    throw error;
  }
}

const agentBase = { apiUrl: 'http://127.0.0.1:4000/graphql', token: 'jwt' };

const names: [string, boolean][] = [
  ['etl', true],
  ['br-ibge-pib_2024.v2', true],
  ['0day', true],
  ['x'.repeat(100), true],
  ['', false],
  ['x'.repeat(101), false],
  ['_private', false],
  ['.hidden', false],
  ['-dash', false],
  ['has space', false],
  ['a/b', false],
  ['a:b', false],
  ['ação', false],
];

const labels: [string, boolean][] = [
  ['gpu', true],
  ['rj-smtr', true],
  ['zone:sa-east1', true],
  ['team/data', true],
  ['k8s.io/arch', true],
  ['x'.repeat(63), true],
  ['x'.repeat(100), true],
  ['', false],
  ['x'.repeat(101), false],
  ['/leading-slash', false],
  ['_under', false],
  ['a,b', false],
  ['has space', false],
  ['é', false],
];

const secrets: [string, boolean][] = [
  ['DB_PASSWORD', true],
  ['A', true],
  [`A${'B'.repeat(99)}`, true],
  ['db_password', false],
  ['_TOKEN', false],
  ['1PASSWORD', false],
  ['FLUXO_TOKEN', false],
  [`A${'B'.repeat(100)}`, false],
];

describe('one naming rule for every entry point', () => {
  it.each(names)('project, flow, task and agent name %j: accepted = %s everywhere', (name, valid) => {
    expect({
      contract: nameProblem(name) === null,
      'server project': accepts(() => checkName('project', name)),
      'server flow name': accepts(() => checkName('flow name', name)),
      'agent config name': accepts(() => resolveAgentConfig({ ...agentBase, name })),
      'sdk flow': accepts(() => flow(name, async () => undefined)),
      'sdk task': accepts(() => task(name, () => 1)),
    }).toEqual({
      contract: valid,
      'server project': valid,
      'server flow name': valid,
      // The agent trims and falls back to the host name for an empty name.
      'agent config name': valid || name === '',
      'sdk flow': valid,
      'sdk task': valid,
    });
  });

  it.each(labels)('label %j: accepted = %s everywhere', (label, valid) => {
    expect({
      contract: labelProblem(label) === null,
      server: accepts(() => checkLabels('labels', [label])),
      'sdk flow': accepts(() => flow('f', { labels: [label] }, async () => undefined)),
      'sdk schedule': accepts(() => flow('f', { schedules: [{ every: '1h', labels: [label] }] }, async () => undefined)),
    }).toEqual({ contract: valid, server: valid, 'sdk flow': valid, 'sdk schedule': valid });
    // The agent reads a comma-separated list, so a comma splits rather than refuses there.
    if (!label.includes(',') && label !== '') expect(accepts(() => resolveAgentConfig({ ...agentBase, labels: [label] }))).toBe(valid);
  });

  it.each(secrets)('secret name %j: accepted = %s everywhere', (name, valid) => {
    expect({
      contract: secretNameProblem(name) === null,
      server: accepts(() => checkSecretNames([name])),
      'sdk flow': accepts(() => flow('f', { secrets: [name] }, async () => undefined)),
    }).toEqual({ contract: valid, server: valid, 'sdk flow': valid });
  });

  it('refuses with each entry point its own stable code', () => {
    expect(refusalCode(() => checkName('flow name', 'has space'))).toBe('BAD_USER_INPUT');
    expect(refusalCode(() => checkLabels('labels', ['has space']))).toBe('BAD_USER_INPUT');
    expect(refusalCode(() => resolveAgentConfig({ ...agentBase, name: 'has space' }))).toBe('BAD_USER_INPUT');
    expect(refusalCode(() => resolveAgentConfig({ ...agentBase, labels: ['has space'] }))).toBe('BAD_USER_INPUT');
    expect(refusalCode(() => flow('has space', async () => undefined))).toBe('TypeError');
  });

  it('tells the same rule wherever a label is refused', () => {
    const message = (check: () => unknown): string => {
      try {
        check();
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    const rule = '1-100 letters, digits, "-", "_", ".", ":" or "/", starting with a letter or digit';
    expect(message(() => checkLabels('labels', ['a b']))).toContain(rule);
    expect(message(() => resolveAgentConfig({ ...agentBase, labels: ['a b'] }))).toContain(rule);
    expect(message(() => flow('f', { labels: ['a b'] }, async () => undefined))).toContain(rule);
  });

  it('keeps dataset and table ids on the data library rule', () => {
    expect(DATA_NAME_PATTERN.source).toBe(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.source);
    for (const [id, valid] of [['rj_smtr', true], ['_staging', true], ['1table', false], ['a-b', false], ['x'.repeat(129), false]] as const) {
      expect(dataNameProblem(id) === null, id).toBe(valid);
    }
  });
});
