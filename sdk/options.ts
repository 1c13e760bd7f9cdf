// Definition-time checks of flow and task options: misuse throws TypeError at once (after jose),
// not when the flow first runs under an agent.

/** Names of flows and tasks: what the server accepts for a flow name. */
export function assertName(kind: 'flow' | 'task', name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new TypeError(`${kind} name must be 1-100 letters, digits, "-", "_" or "." (got ${JSON.stringify(name)})`);
  }
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
