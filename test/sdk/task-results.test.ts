// Task results in the SDK: the canonical JSON of inputs (sorted keys, so equal inputs hash
// equally), what counts as JSON, and what a task sends and restores through its host.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { flow, task } from '../../sdk/index.js';
import { canonicalJson, inputsHashOf, parseResultJson, resultJsonOf } from '../../sdk/result-json.js';
import type { LogEvent, RuntimeHost, TaskStateEvent } from '../../sdk/runtime/protocol.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('canonical JSON of task inputs', () => {
  it('sorts object keys at every depth, so the same inputs built in another order hash the same', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: 2.5 } })).toBe('{"a":{"c":2.5,"d":[true,null,"x"]},"b":1}');
    expect(inputsHashOf([{ year: 2024, city: 'rio' }])).toBe(inputsHashOf([{ city: 'rio', year: 2024 }]));
    expect(inputsHashOf([{ year: 2024 }])).toBe(sha256('[{"year":2024}]'));
    expect(inputsHashOf([1, 2])).not.toBe(inputsHashOf([2, 1]));
    expect(inputsHashOf([])).toBe(sha256('[]'));
  });

  it('takes Dates in inputs as their instant, and objects without a prototype as plain objects', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(canonicalJson([new Date('2024-01-02T03:04:05Z'), bare], { dates: true })).toBe('[{"$date":"2024-01-02T03:04:05.000Z"},{"a":1}]');
    expect(inputsHashOf([new Date(0)])).toBe(inputsHashOf([new Date(0)]));
    expect(inputsHashOf([new Date(Number.NaN)])).toBeNull();
  });

  it('gives no hash for inputs JSON cannot carry exactly', () => {
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [() => 1, Symbol('s'), 10n, undefined, Number.NaN, Infinity, new Point(), new Map(), cycle, { a: undefined }, [undefined]]) {
      expect(inputsHashOf([value])).toBeNull();
    }
    // A shared (not cyclic) object is JSON.
    const shared = { n: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"n":1},{"n":1}]');
  });
});

describe('stored results', () => {
  it('stores JSON values, undefined as the empty text, and nothing for values that would not read back the same', () => {
    expect(resultJsonOf({ b: [1, 'two'], a: null })).toBe('{"a":null,"b":[1,"two"]}');
    expect(resultJsonOf(undefined)).toBe('');
    expect(parseResultJson('')).toBeUndefined();
    expect(parseResultJson(resultJsonOf({ x: [1] })!)).toEqual({ x: [1] });
    for (const value of [new Date(0), new Set([1]), () => 1, Number.NaN, { f: () => 1 }]) expect(resultJsonOf(value)).toBeNull();
  });

  it('stores nothing over 64 MiB', () => {
    expect(resultJsonOf('x'.repeat(64 * 1024 * 1024))).toBeNull();
    expect(resultJsonOf('x'.repeat(1024))).toHaveLength(1026);
  });
});

/** A host like the child's: it keeps results, and has the stored ones given. */
function storingHost(stored: Map<string, string> = new Map()): RuntimeHost & { states: TaskStateEvent[]; asked: string[] } {
  const states: TaskStateEvent[] = [];
  const asked: string[] = [];
  return {
    states,
    asked,
    storesResults: true,
    taskState: (event) => states.push(event),
    log: (_: LogEvent) => undefined,
    storedResult: (key, hash) => {
      asked.push(key);
      const json = stored.get(`${key} ${hash}`);
      return json === undefined ? null : Promise.resolve(json);
    },
  };
}

describe('a task under a host that stores results', () => {
  it('sends its inputs hash with every state and its JSON result with SUCCESS', async () => {
    const double = task('double', (n: number) => ({ n: n * 2 }));
    const host = storingHost();
    await flow('f', async () => double(21)).run({}, host);
    expect(host.states.map((s) => [s.key, s.state, s.inputsHash, s.result])).toEqual([
      ['double#1', 'RUNNING', sha256('[21]'), undefined],
      ['double#1', 'SUCCESS', sha256('[21]'), { json: '{"n":42}' }],
    ]);
  });

  it('returns a stored result for the same key and inputs without running, and runs when the inputs differ', async () => {
    let runs = 0;
    const fetch = task('fetch', (day: string) => {
      runs += 1;
      return { day, rows: runs };
    });
    const host = storingHost(new Map([[`fetch#1 ${sha256('["2024-01-01"]')}`, '{"day":"2024-01-01","rows":99}']]));
    const result = await flow('f', async () => [await fetch('2024-01-01'), await fetch('2024-01-02')]).run({}, host);
    expect(result).toEqual([{ day: '2024-01-01', rows: 99 }, { day: '2024-01-02', rows: 1 }]);
    expect(runs).toBe(1);
    expect(host.states.map((s) => [s.key, s.state, s.message, s.restored])).toEqual([
      ['fetch#1', 'SUCCESS', 'restored from result storage', true],
      ['fetch#2', 'RUNNING', null, undefined],
      ['fetch#2', 'SUCCESS', null, undefined],
    ]);
  });

  it('runs the task when the host cannot return the stored result, or it does not parse', async () => {
    let runs = 0;
    const once = task('once', () => ++runs);
    const unreadable: RuntimeHost & { states: TaskStateEvent[] } = { ...storingHost(), storedResult: () => Promise.resolve(null) };
    expect(await flow('f', async () => once()).run({}, unreadable)).toBe(1);
    const garbled = storingHost(new Map([[`once#1 ${sha256('[]')}`, '{not json']]));
    expect(await flow('f', async () => once()).run({}, garbled)).toBe(2);
    expect(garbled.states.map((s) => s.state)).toEqual(['RUNNING', 'SUCCESS']);
  });

  it('neither hashes nor sends results under a host that does not store them (fluxo run)', async () => {
    const states: TaskStateEvent[] = [];
    const plain = task('plain', (x: number) => x + 1);
    await flow('f', async () => plain(1)).run({}, { taskState: (e) => states.push(e), log: () => undefined });
    expect(states.every((s) => s.inputsHash === undefined && s.result === undefined)).toBe(true);
  });
});
