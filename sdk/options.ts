// Definition-time checks of flow and task options: misuse throws TypeError at once (after jose),
// not when the flow first runs under an agent.
import { labelsProblem, NAME_RULE, nameProblem } from '../contract/names.js';

/** Names of flows and tasks: the server's rule for a flow name (contract/names.ts). */
export function assertName(kind: 'flow' | 'task', name: unknown): asserts name is string {
  if (nameProblem(name) !== null) throw new TypeError(`${kind} name must be ${NAME_RULE} (got ${JSON.stringify(name)})`);
}

/**
 * A flow's or a clock's labels, by the server's label rule (contract/names.ts), deduplicated: a
 * definition that loads here is never refused at registration for its labels.
 */
export function checkLabelList(owner: string, labels: unknown): string[] {
  if (labels === undefined) return [];
  if (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string')) throw new TypeError(`${owner}: labels must be an array of strings`);
  const problem = labelsProblem(labels);
  if (problem) throw new TypeError(`${owner}: ${problem}`);
  return [...new Set(labels as string[])];
}

/** Checks an optional numeric option at definition time. */
export function checkNumber(
  owner: string,
  option: string,
  value: unknown,
  { integer, min, fallback }: { integer: boolean; min: number; fallback: number },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new TypeError(`${owner}: ${option} must be ${kind} >= ${min} (got ${String(value)})`);
  }
  return value;
}

/** Checks an optional timeout (`null`/undefined: none) at definition time. */
export function checkTimeout(owner: string, value: unknown, integer: boolean): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new TypeError(`${owner}: timeoutSeconds must be ${integer ? 'an integer' : 'a number'} > 0 or null (got ${String(value)})`);
  }
  return value;
}
