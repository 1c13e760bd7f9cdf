// A flow's concurrency option: checked when the flow is defined, carried in its definition as
// `fluxo register` sends it (the server enforces it in the claim).
import { describe, expect, it } from 'vitest';
import { flow } from '../../sdk/index.js';
import { asFlowHandle } from '../../sdk/runtime/protocol.js';

const definitionOf = (value: unknown) => asFlowHandle(value)!.definition;

describe('flow concurrency option', () => {
  it('records the limit and whenFull (default queue) in the definition', () => {
    expect(definitionOf(flow('once', { concurrency: { limit: 1 } }, () => undefined)).concurrency).toEqual({ limit: 1, whenFull: 'queue' });
    expect(definitionOf(flow('skip', { concurrency: { limit: 3, whenFull: 'skip' } }, () => undefined)).concurrency).toEqual({ limit: 3, whenFull: 'skip' });
  });

  it('leaves the definition without the key when the flow sets no limit (bundles stay as they were)', () => {
    expect('concurrency' in definitionOf(flow('free', () => undefined))).toBe(false);
  });

  it.each([
    ['a limit of 0', { limit: 0 }, /concurrency.limit must be an integer from 1 to 1000 \(got 0\)/],
    ['a limit above 1000', { limit: 1001 }, /from 1 to 1000 \(got 1001\)/],
    ['a fractional limit', { limit: 1.5 }, /from 1 to 1000/],
    ['a missing limit', { whenFull: 'skip' }, /got undefined/],
    ['an unknown policy', { limit: 1, whenFull: 'drop' }, /whenFull must be 'queue' or 'skip' \(got drop\)/],
    ['an unknown key', { limit: 1, max: 2 }, /unknown option\(s\) max/],
    ['a number instead of an object', 1, /must be an object/],
  ])('throws TypeError at definition time for %s', (_, concurrency, message) => {
    expect(() => flow('bad', { concurrency: concurrency as never }, () => undefined)).toThrow(message);
    expect(() => flow('bad', { concurrency: concurrency as never }, () => undefined)).toThrow(TypeError);
  });
});
