// The SDK in process: definitions, parameter validation, task states, retries, timeouts, logging.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flow, getLogger, task, FlowFailure } from '../../sdk/index.js';
import { failureOf } from '../../sdk/runtime/failure.js';
import { FLOW_MARKER, RUNTIME_PROTOCOL_VERSION, asFlowHandle, type LogEvent, type RuntimeHost, type TaskStateEvent } from '../../sdk/runtime/protocol.js';

/** A host that records what a flow reports. */
function recordingHost(): RuntimeHost & { states: TaskStateEvent[]; logs: LogEvent[]; trail: () => string[] } {
  const states: TaskStateEvent[] = [];
  const logs: LogEvent[] = [];
  return {
    states,
    logs,
    taskState: (event) => states.push(event),
    log: (event) => logs.push(event),
    trail: () => states.map((event) => `${event.key} ${event.state} ${event.attempt}`),
  };
}

async function failureFrom(promise: Promise<unknown>): Promise<ReturnType<typeof failureOf>> {
  const error = await promise.then(
    () => {
      throw new Error('expected the flow to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(FlowFailure);
  return failureOf(error);
}

describe('defining a flow', () => {
  it('produces a handle the runtime recognises, with default settings', () => {
    const handle = flow('hello', async () => 'hi');
    expect(asFlowHandle(handle)).toBe(handle);
    expect(handle[FLOW_MARKER]).toBe(RUNTIME_PROTOCOL_VERSION);
    expect(handle.definition).toEqual({
      name: 'hello',
      description: null,
      parameterSchema: { type: 'object', properties: {}, additionalProperties: false },
      labels: [],
      secrets: [],
      retries: 0,
      retryDelaySeconds: 10,
      timeoutSeconds: null,
      schedules: [],
      missedRuns: 'skip',
      catchUpLimit: 10,
    });
  });

  it('declares secrets by environment-variable name, sorted, and refuses other names', () => {
    expect(flow('s', { secrets: ['DB_PASSWORD', 'API_KEY', 'DB_PASSWORD'] }, async () => undefined).definition.secrets).toEqual(['API_KEY', 'DB_PASSWORD']);
    expect(() => flow('s', { secrets: ['db-password'] }, async () => undefined)).toThrow('flow "s": secret name "db-password" must be 1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)');
    expect(() => flow('s', { secrets: ['FLUXO_TOKEN'] }, async () => undefined)).toThrow('flow "s": secret name "FLUXO_TOKEN" is reserved: FLUXO_ names belong to the platform');
    // The server's rule (contract/names.ts): no leading "_", at most 100 characters.
    expect(() => flow('s', { secrets: ['_TOKEN'] }, async () => undefined)).toThrow(/secret name "_TOKEN" must be/);
    expect(() => flow('s', { secrets: [`A${'B'.repeat(100)}`] }, async () => undefined)).toThrow(/must be 1-100/);
  });

  it('derives the input JSON Schema of zod parameters, refusing unknown keys', () => {
    const handle = flow(
      'typed',
      {
        description: 'typed parameters',
        parameters: z.object({ city: z.string().describe('a city'), year: z.int().min(2002).max(2011).default(2010) }),
        labels: ['rj', 'rj'],
        retries: 2,
        retryDelaySeconds: 5,
        timeoutSeconds: 60,
      },
      async ({ city, year }) => `${city} ${year}`,
    );
    expect(handle.definition).toMatchObject({ description: 'typed parameters', labels: ['rj'], retries: 2, retryDelaySeconds: 5, timeoutSeconds: 60 });
    expect(handle.definition.parameterSchema).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        city: { type: 'string', description: 'a city' },
        year: { type: 'integer', minimum: 2002, maximum: 2011, default: 2010 },
      },
      required: ['city'],
      additionalProperties: false,
    });
  });

  it('keeps a loose object open to extra parameters', () => {
    const handle = flow('loose', { parameters: z.looseObject({ a: z.string() }) }, async () => undefined);
    expect(handle.definition.parameterSchema.additionalProperties).toEqual({});
  });

  it.each([
    ['an empty name', () => flow('', async () => 1), 'flow name must be 1-100 letters'],
    ['a name with a space', () => flow('my flow', async () => 1), 'flow name must be 1-100 letters'],
    ['a 101-character name', () => flow('x'.repeat(101), async () => 1), 'flow name must be 1-100 letters'],
    ['negative retries', () => flow('f', { retries: -1 }, async () => 1), 'flow "f": retries must be an integer >= 0'],
    ['fractional retry delay', () => flow('f', { retryDelaySeconds: 0.5 }, async () => 1), 'flow "f": retryDelaySeconds must be an integer >= 0'],
    ['a zero timeout', () => flow('f', { timeoutSeconds: 0 }, async () => 1), 'flow "f": timeoutSeconds must be an integer > 0 or null'],
    ['labels that are not strings', () => flow('f', { labels: [1 as unknown as string] }, async () => 1), 'flow "f": labels must be an array'],
    ['a non-object parameter schema', () => flow('f', { parameters: z.string() as never }, async () => 1), 'flow "f": parameters must be an object schema'],
    ['a parameter JSON Schema cannot express', () => flow('f', { parameters: z.object({ day: z.date() }) }, async () => 1), 'flow "f": parameters cannot be expressed as JSON Schema (Date cannot be represented in JSON Schema)'],
    ['parameters that are not a schema', () => flow('f', { parameters: { city: 'string' } as never }, async () => 1), 'flow "f": parameters must be a zod 4 object schema'],
    ['a missing function', () => flow('f', {} as never), 'flow "f": the last argument must be'],
    ['a task name with a slash', () => task('a/b', () => 1), 'task name must be 1-100 letters'],
    ['negative task retries', () => task('t', { retries: -1 }, () => 1), 'task "t": retries must be an integer >= 0'],
    ['a negative task timeout', () => task('t', { timeoutSeconds: -1 }, () => 1), 'task "t": timeoutSeconds must be a number > 0 or null'],
  ])('throws TypeError at definition time for %s', (_, define, message) => {
    expect(define).toThrow(TypeError);
    expect(define).toThrow(message);
  });
});

describe('running a flow', () => {
  const typed = flow(
    'typed',
    { parameters: z.object({ city: z.string(), year: z.int().min(2002).max(2011).default(2010) }) },
    async ({ city, year }) => `${city}:${year}`,
  );

  it('passes parsed parameters with defaults to the flow function and resolves to its value', async () => {
    await expect(typed.run({ city: 'Niterói' }, recordingHost())).resolves.toBe('Niterói:2010');
  });

  it.each([
    [{ year: 2010 }, 'city: Invalid input'],
    [{ city: 'Rio', year: 2020 }, 'year: Too big'],
    [{ city: 'Rio', year: 2010, yaer: 2011 }, 'unknown parameter yaer'],
    ['not an object', 'parameters must be an object'],
  ])('fails with reason invalid-parameters for %j', async (parameters, message) => {
    const failure = await failureFrom(typed.run(parameters, recordingHost()));
    expect(failure).toMatchObject({ type: 'InvalidParameters', reason: 'invalid-parameters' });
    expect(failure.message).toContain(message);
  });

  it('refuses parameters for a flow that declares none', async () => {
    const failure = await failureFrom(flow('bare', async () => 1).run({ extra: 1 }, recordingHost()));
    expect(failure).toMatchObject({ reason: 'invalid-parameters', message: 'flow "bare" takes no parameters (got extra)' });
  });

  it('turns a throw into a serialized failure with type, message and stack', async () => {
    const failure = await failureFrom(
      flow('boom', async () => {
        throw new RangeError('out of range');
      }).run({}, recordingHost()),
    );
    expect(failure).toMatchObject({ type: 'RangeError', message: 'out of range', reason: 'exception' });
    expect(failure.stack).toContain('RangeError: out of range');
  });

  it('serializes a thrown non-error value', async () => {
    const failure = await failureFrom(
      flow('odd', async () => {
        throw { code: 42 };
      }).run({}, recordingHost()),
    );
    expect(failure).toEqual({ type: 'object', message: '{"code":42}', reason: 'exception' });
  });
});

describe('tasks inside a flow', () => {
  it('reports RUNNING then SUCCESS under name#n keys counted per flow run', async () => {
    const double = task('double', (value: number) => value * 2);
    const handle = flow('doubles', async () => [await double(1), await double(2)]);
    const host = recordingHost();
    await expect(handle.run({}, host)).resolves.toEqual([2, 4]);
    expect(host.trail()).toEqual(['double#1 RUNNING 1', 'double#1 SUCCESS 1', 'double#2 RUNNING 1', 'double#2 SUCCESS 1']);
    expect(host.states[0]).toMatchObject({ taskName: 'double', mapIndex: null, message: null });

    const again = recordingHost();
    await handle.run({}, again);
    expect(again.states.map((event) => event.key)).toEqual(['double#1', 'double#1', 'double#2', 'double#2']);
  });

  it('retries a failed attempt after the delay and succeeds on the next', async () => {
    let calls = 0;
    const flaky = task('flaky', { retries: 2, retryDelaySeconds: 0.05 }, () => {
      calls += 1;
      if (calls === 1) throw new Error('first attempt fails');
      return 'ok';
    });
    const host = recordingHost();
    const started = performance.now();
    await expect(flow('retrying', async () => flaky()).run({}, host)).resolves.toBe('ok');
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(host.trail()).toEqual(['flaky#1 RUNNING 1', 'flaky#1 RETRYING 1', 'flaky#1 RUNNING 2', 'flaky#1 SUCCESS 2']);
    expect(host.states[1]?.message).toBe('Error: first attempt fails');
  });

  it('reports FAILED after the last retry and fails the flow with the task error', async () => {
    const broken = task('broken', { retries: 1 }, () => {
      throw new TypeError('always');
    });
    const host = recordingHost();
    const failure = await failureFrom(flow('failing', async () => broken()).run({}, host));
    expect(failure).toMatchObject({ type: 'TypeError', message: 'always', reason: 'exception' });
    expect(host.trail()).toEqual(['broken#1 RUNNING 1', 'broken#1 RETRYING 1', 'broken#1 RUNNING 2', 'broken#1 FAILED 2']);
  });

  it('times out a hanging attempt as TIMED_OUT and fails the flow with reason timeout', async () => {
    const hang = task('hang', { timeoutSeconds: 0.05 }, () => sleep(5_000));
    const host = recordingHost();
    const failure = await failureFrom(flow('hanging', async () => hang()).run({}, host));
    expect(failure).toMatchObject({ type: 'TaskTimeoutError', message: 'task "hang" timed out after 0.05 s', reason: 'timeout' });
    expect(host.trail()).toEqual(['hang#1 RUNNING 1', 'hang#1 TIMED_OUT 1']);
  });

  it('retries a timed-out attempt while retries remain', async () => {
    let calls = 0;
    const slowOnce = task('slow-once', { timeoutSeconds: 0.05, retries: 1 }, async () => {
      calls += 1;
      if (calls === 1) await sleep(5_000);
      return calls;
    });
    const host = recordingHost();
    await expect(flow('slow', async () => slowOnce()).run({}, host)).resolves.toBe(2);
    expect(host.trail()).toEqual(['slow-once#1 RUNNING 1', 'slow-once#1 RETRYING 1', 'slow-once#1 RUNNING 2', 'slow-once#1 SUCCESS 2']);
  });

  it('attributes logs of concurrent tasks to their own keys', async () => {
    const log = getLogger();
    const wait = task('wait', async (ms: number) => {
      log.info('start %d', ms);
      await sleep(ms);
      log.info('end %d', ms);
      return ms;
    });
    const host = recordingHost();
    await flow('parallel', async () => {
      log.info('flow level');
      return Promise.all([wait(30), wait(10), wait(20)]);
    }).run({}, host);
    const lines = host.logs.map((event) => `${event.taskRunKey} ${event.message}`);
    expect(lines).toEqual(expect.arrayContaining(['null flow level', 'wait#1 start 30', 'wait#1 end 30', 'wait#2 end 10', 'wait#3 end 20']));
    expect(host.logs[0]).toMatchObject({ level: 'INFO', stream: 'logger', taskRunKey: null });
    expect(host.states.filter((event) => event.state === 'SUCCESS').map((event) => event.key)).toEqual(['wait#2', 'wait#3', 'wait#1']);
  });

  it('keys the logs of a nested task by the innermost task', async () => {
    const log = getLogger();
    const inner = task('inner', () => log.warning('inside'));
    const outer = task('outer', async () => {
      await inner();
      log.error('after');
    });
    const host = recordingHost();
    await flow('nested', async () => outer()).run({}, host);
    expect(host.logs.map((event) => `${event.level} ${event.taskRunKey} ${event.message}`)).toEqual(['WARNING inner#1 inside', 'ERROR outer#1 after']);
  });

  it('calls the plain function outside a flow run', async () => {
    const add = task('add', { retries: 3 }, (a: number, b: number) => a + b);
    await expect(add(2, 3)).resolves.toBe(5);
  });
});
