// Batching of task states and log lines. The API here records calls and can fail on demand, so
// batch boundaries, ordering and retries are observable; the real server path is in agent.test.ts.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { RunRelay, type RunRelayOptions } from '../../agent/relay.js';
import { SpoolBudget } from '../../agent/spool.js';
import type { SetTaskRunStatesInput, WriteLogsInput } from '../../schema/generated/graphql.js';
import type { LogEvent, TaskStateEvent } from '../../sdk/runtime/protocol.js';
import { tempDir, waitFor } from '../support/harness.js';

type Failure = Error | undefined;

function recordingApi(failures: { writeLogs?: Failure[]; setTaskRunStates?: Failure[] } = {}) {
  const logCalls: WriteLogsInput[] = [];
  const stateCalls: SetTaskRunStatesInput[] = [];
  /** Every call, in the order it was made. */
  const order: (WriteLogsInput | SetTaskRunStatesInput)[] = [];
  /** What the server kept: one entry per distinct batch id. */
  const stored = new Map<string, string[]>();
  return {
    logCalls,
    stateCalls,
    order,
    stored,
    api: {
      async writeLogs(input: WriteLogsInput) {
        logCalls.push(input);
        order.push(input);
        const failure = failures.writeLogs?.shift();
        if (failure) throw failure;
        if (!stored.has(input.batchId)) stored.set(input.batchId, input.lines.map((line) => line.message));
        return input.lines.length;
      },
      async setTaskRunStates(input: SetTaskRunStatesInput) {
        stateCalls.push(input);
        order.push(input);
        const failure = failures.setTaskRunStates?.shift();
        if (failure) throw failure;
        return input.states.length;
      },
    },
  };
}

const line = (message: string): LogEvent => ({ level: 'INFO', stream: 'stdout', message, taskRunKey: null, timestamp: new Date().toISOString() });
const state = (key: string, s: TaskStateEvent['state']): TaskStateEvent => ({ key, taskName: key, mapIndex: null, attempt: 1, state: s, message: null, timestamp: new Date().toISOString() });

function relayWith(api: RunRelayOptions['api'], options: Partial<RunRelayOptions> = {}) {
  return new RunRelay({ api, flowRunId: 'run-1', leaseToken: 'lease-1', flushIntervalMs: 50, ...options });
}

describe('batching', () => {
  it('holds everything until opened, then sends task states and lines in order in one batch each', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api);
    relay.taskState(state('a#1', 'RUNNING'));
    relay.log(line('one'));
    relay.log(line('two'));
    relay.taskState(state('a#1', 'SUCCESS'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(server.logCalls).toEqual([]);

    relay.open();
    await waitFor(() => server.logCalls.length === 1, { what: 'one log batch' });

    expect(server.stateCalls).toEqual([
      { flowRunId: 'run-1', leaseToken: 'lease-1', batchId: expect.any(String), states: [expect.objectContaining({ key: 'a#1', state: 'RUNNING' }), expect.objectContaining({ key: 'a#1', state: 'SUCCESS' })] },
    ]);
    expect(server.logCalls[0]).toMatchObject({ flowRunId: 'run-1', leaseToken: 'lease-1', lines: [{ message: 'one' }, { message: 'two' }] });
  });

  it('sends at once when 1,000 lines wait, without waiting for the interval, in ordered batches of at most 1,000', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api, { flushIntervalMs: 60_000 });
    relay.open();

    for (let i = 0; i < 2_500; i++) relay.log(line(`line ${i}`));
    // The interval is a minute: only the count can have triggered these.
    await waitFor(() => server.logCalls.reduce((sum, call) => sum + call.lines.length, 0) === 2_500, { what: 'every line sent', timeoutMs: 5_000 });

    expect(server.logCalls[0]?.lines).toHaveLength(1_000);
    expect(Math.max(...server.logCalls.map((call) => call.lines.length))).toBe(1_000);
    expect(server.logCalls.flatMap((call) => call.lines.map((l) => l.message))).toEqual(Array.from({ length: 2_500 }, (_, i) => `line ${i}`));
    await relay.close();
    expect(server.logCalls.reduce((sum, call) => sum + call.lines.length, 0)).toBe(2_500);
  });
});

describe('failures', () => {
  it('retries a batch after transport errors with the same batch id, so it is stored once', async () => {
    const server = recordingApi({ writeLogs: [new TransportError('connection refused'), new TransportError('connection reset')] });
    const retries: string[] = [];
    const relay = relayWith(server.api, { onRetry: (operation) => retries.push(operation) });
    relay.open();
    relay.log(line('must land once'));

    await relay.close();

    expect(server.logCalls).toHaveLength(3);
    expect(new Set(server.logCalls.map((call) => call.batchId)).size).toBe(1);
    expect([...server.stored.values()]).toEqual([['must land once']]);
    expect(retries).toEqual(['writeLogs', 'writeLogs']);
  });

  it('drops everything and says so once when the server answers LEASE_LOST', async () => {
    const server = recordingApi({ writeLogs: [new FluxoError('LEASE_LOST', 'lease expired')] });
    const lost: string[] = [];
    const relay = relayWith(server.api, { onLeaseLost: (error) => lost.push(error.code) });
    relay.open();
    relay.log(line('first'));
    await relay.flush();

    relay.log(line('after the lease is gone'));
    await relay.close();

    expect(lost).toEqual(['LEASE_LOST']);
    expect(relay.active).toBe(false);
    expect(server.logCalls.map((call) => call.lines.map((l) => l.message))).toEqual([['first']]);
  });

  it('drops a batch the server refuses for its content and sends the next one', async () => {
    const server = recordingApi({ writeLogs: [new FluxoError('BAD_USER_INPUT', 'line too long')] });
    const warnings: string[] = [];
    const relay = relayWith(server.api, { onWarning: (message) => warnings.push(message) });
    relay.open();
    relay.log(line('refused'));
    await relay.flush();
    relay.log(line('accepted'));

    await relay.close();

    expect([...server.stored.values()]).toEqual([['accepted']]);
    expect(warnings).toEqual(['writeLogs for run run-1 was refused and dropped']);
  });

  it('hands a refused token to the agent as fatal instead of retrying', async () => {
    const server = recordingApi({ setTaskRunStates: [new FluxoError('TOKEN_EXPIRED', 'token expired')] });
    const fatal: string[] = [];
    const relay = relayWith(server.api, { onFatal: (error) => fatal.push(error.code) });
    relay.open();
    relay.taskState(state('a#1', 'RUNNING'));

    await relay.close();

    expect(fatal).toEqual(['TOKEN_EXPIRED']);
    expect(server.stateCalls).toHaveLength(1);
  });

  it('during an outage spills to disk, then delivers states and lines in order and removes the files', async () => {
    const outage = Array.from({ length: 4 }, () => new TransportError('down'));
    const server = recordingApi({ writeLogs: outage });
    const dir = await tempDir();
    const spills: string[] = [];
    const drained: number[] = [];
    const relay = relayWith(server.api, { maxBatchLines: 10, spool: { dir, budget: new SpoolBudget(10 * 1024 * 1024) }, onSpill: (path) => spills.push(path), onDrained: (bytes) => drained.push(bytes) });
    relay.open();
    relay.log(line('in flight'));
    await waitFor(() => server.logCalls.length >= 1, { what: 'the first attempt' });
    for (let i = 0; i < 3_000; i++) {
      if (i % 1_000 === 0) relay.taskState(state(`t#${i}`, 'RUNNING'));
      relay.log(line(`queued ${i}`));
    }
    expect(spills).toEqual([join(dir, 'run-1.1.jsonl')]);
    expect(existsSync(spills[0]!)).toBe(true);

    await relay.close();

    expect([...server.stored.values()].flat()).toEqual(['in flight', ...Array.from({ length: 3_000 }, (_, i) => `queued ${i}`)]);
    expect(server.stateCalls.flatMap((call) => call.states.map((s) => s.key))).toEqual(['t#0', 't#1000', 't#2000']);
    // Each state left before the batch holding the line logged right after it.
    for (const call of server.stateCalls) {
      const next = `queued ${call.states[0]!.key.slice('t#'.length)}`;
      const batchWithNext = server.order.findIndex((sent) => 'lines' in sent && sent.lines.some((l) => l.message === next));
      expect(server.order.indexOf(call)).toBeLessThan(batchWithNext);
    }
    expect(await readdir(dir)).toEqual([]);
    expect(drained).toHaveLength(1);
  });

  it('past the spool budget counts the lines it drops and says so where they are missing', async () => {
    const outage = Array.from({ length: 3 }, () => new TransportError('down'));
    const server = recordingApi({ writeLogs: outage });
    const lineBytes = Buffer.byteLength(`${JSON.stringify({ line: { taskRunKey: null, level: 'INFO', stream: 'stdout', message: 'queued 0', timestamp: new Date().toISOString() } })}\n`);
    // Two batches of 2 in memory, then room on "disk" for three more lines.
    const relay = relayWith(server.api, { maxBatchLines: 2, spool: { dir: await tempDir(), budget: new SpoolBudget(3 * lineBytes) } });
    relay.open();
    relay.log(line('in flight'));
    await waitFor(() => server.logCalls.length >= 1, { what: 'the first attempt' });
    for (let i = 0; i < 10; i++) relay.log(line(`queued ${i}`));

    await relay.close();

    const landed = [...server.stored.values()].flat();
    expect(landed).toEqual([
      'in flight',
      ...Array.from({ length: 7 }, (_, i) => `queued ${i}`),
      'fluxo agent: 3 log lines were dropped while the server was unreachable',
    ]);
  });
});

describe('draining', () => {
  it('sends lines that arrive after a timer drain found the buffer empty', async () => {
    const server = recordingApi();
    const relay = relayWith(server.api);
    // Opening an empty relay arms the timer; its drain finds nothing to send. A drain that left a
    // settled promise behind here made every later flush() spin forever.
    relay.open();
    await new Promise((resolve) => setTimeout(resolve, 120));
    relay.log(line('late'));
    await relay.close();
    expect([...server.stored.values()].flat()).toEqual(['late']);
  });
});

describe('closing', () => {
  it('waits for a batch already in flight even when nothing is left to send', async () => {
    const events: string[] = [];
    let release!: () => void;
    const inFlight = new Promise<void>((resolve) => (release = resolve));
    const api = {
      async setTaskRunStates(input: SetTaskRunStatesInput) {
        events.push(`send ${input.states.length}`);
        await inFlight;
        events.push('acknowledged');
        return input.states.length;
      },
      async writeLogs(input: WriteLogsInput) {
        return input.lines.length;
      },
    };
    const relay = relayWith(api);
    relay.open();
    relay.taskState(state('t#1', 'RUNNING'));
    relay.taskState(state('t#1', 'SUCCESS'));
    // The timer's drain takes both states off the queue and waits for the server.
    await waitFor(() => events.length === 1, { what: 'the batch to be sent' });
    const closed = relay.close().then(() => events.push('closed'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['send 2']);
    release();
    await closed;
    expect(events).toEqual(['send 2', 'acknowledged', 'closed']);
  });
});
