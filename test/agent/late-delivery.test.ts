// A crashed run's last words, for real: a flow prints while the auth proxy is SIGKILLed, so the
// agent (the `fluxo agent start` daemon) spools the rest on disk; the agent is SIGKILLed too, the
// proxy comes back, the lease reaper crashes the attempt, and the agent restarted with the same
// name delivers the spooled lines and task state to that attempt, marked late, in order, once —
// and not again when the same spool files turn up for another start. SQLite and PostgreSQL.
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDetails, waitForFinal, createRun } from '../e2e/queries.js';
import { startDaemon } from '../support/daemon.js';
import { isAlive, tempDir, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { startResilienceStack } from './support/resilience-stack.js';

const LINES = 8_000;
const LAST = `line ${String(LINES - 1).padStart(5, '0')}`;

interface Line {
  message: string;
  stream: string;
  late: boolean;
}

async function linesOf(client: GraphQLClient, id: string): Promise<Line[]> {
  const lines: Line[] = [];
  let after: string | null = null;
  for (;;) {
    const { flowRun }: { flowRun: { logs: { nodes: Line[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } } = await client.request(
      'query($id: ID!, $after: String) { flowRun(id: $id) { logs(first: 1000, after: $after) { nodes { message stream late } pageInfo { endCursor hasNextPage } } } }',
      { id, after },
    );
    lines.push(...flowRun.logs.nodes);
    if (!flowRun.logs.pageInfo.hasNextPage || !flowRun.logs.pageInfo.endCursor) return lines;
    after = flowRun.logs.pageInfo.endCursor;
  }
}

const spoolFiles = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.jsonl') || name.endsWith('.run.json'));

describe.each([
  { store: 'sqlite', database: async () => undefined },
  { store: 'postgres', database: async () => freshPostgresDatabase() },
])('a killed agent on $store', ({ database }) => {
  it('delivers its spooled lines after a restart, to the attempt they belong to, marked late, in order, once', async () => {
    const url = await database();
    const { stack, developer } = await startResilienceStack({ leaseSeconds: 15, ...(url ? { database: url } : {}) });
    const name = 'last-words';
    const spoolDir = join(stack.dir, name, 'spool');
    const first = await stack.startAgent({ name, extraArgs: ['--heartbeat-seconds', '1'] });

    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: LINES, perTick: 100, tickMs: 40 } });
    await waitFor(async () => (await linesOf(developer, id)).length > 0, { what: 'the first lines to be stored' });
    process.kill(stack.proxy.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.proxy.pid), { what: 'the proxy to die' });
    // The flow ends while the server is out of reach: its last line and task state wait on disk.
    await waitFor(async () => {
      const files = await spoolFiles(spoolDir);
      if (!files.some((f) => f.endsWith('.run.json'))) return false;
      const texts = await Promise.all(files.filter((f) => f.endsWith('.jsonl')).map((f) => readFile(join(spoolDir, f), 'utf8')));
      return texts.some((t) => t.includes(LAST)) && texts.some((t) => t.includes('"state":"SUCCESS"'));
    }, { what: 'the last line and the task state in the spool (before the agent fences itself, 13.5 s after its last heartbeat)', timeoutMs: 12_000 });
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => !isAlive(first.pid), { what: 'the agent to die' });

    const proxyPort = new URL(String(stack.proxy.ready.url)).port;
    await startDaemon(['proxy', 'start', '--port', proxyPort, '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir]);
    // The attempt ends without its agent (lease reaper); what was spooled arrives after that.
    const crashed = await waitForFinal(developer, id, 60_000);
    expect(crashed).toMatchObject({ state: 'CRASHED', stateReason: 'lease-expired', attempt: 1 });
    expect((await linesOf(developer, id)).some((l) => l.message === LAST)).toBe(false);
    const kept = await tempDir();
    await cp(spoolDir, kept, { recursive: true });

    const second = await stack.startAgent({ name, extraArgs: ['--heartbeat-seconds', '1'] });
    await waitFor(async () => (await spoolFiles(spoolDir)).length === 0, { what: 'the spool to be delivered and removed', timeoutMs: 30_000 });

    const stored = await linesOf(developer, id);
    const printed = stored.filter((l) => l.stream === 'stdout');
    const numbers = printed.map((l) => Number(l.message.slice('line '.length)));
    // In order and each once; a batch in flight when the agent died may be missing, never repeated.
    expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
    expect(printed.at(-1)).toEqual({ message: LAST, stream: 'stdout', late: true });
    const late = printed.filter((l) => l.late);
    expect(late.length).toBeGreaterThan(1_000);
    // Late lines come after the live ones: the spool holds the run's tail.
    expect(printed.slice(printed.length - late.length).every((l) => l.late)).toBe(true);
    const run = await runDetails(developer, id);
    expect([run.state, run.attempt]).toEqual(['CRASHED', 1]);
    expect(run.taskRuns.map((t) => [t.key, t.state])).toEqual([['print#1', 'SUCCESS']]);
    const { flowRun } = await developer.request<{ flowRun: { taskRuns: { stateHistory: { toState: string; late: boolean; attempt: number }[] }[] } }>(
      'query($id: ID!) { flowRun(id: $id) { taskRuns { stateHistory { toState late attempt } } } }', { id });
    expect(flowRun.taskRuns[0]!.stateHistory.at(-1)).toEqual({ toState: 'SUCCESS', late: true, attempt: 1 });

    // The same files again (a copy restored): every batch id is known, nothing is stored twice.
    await second.stop(5_000);
    await rm(spoolDir, { recursive: true, force: true });
    await cp(kept, spoolDir, { recursive: true });
    await stack.startAgent({ name, extraArgs: ['--heartbeat-seconds', '1'] });
    await waitFor(async () => (await spoolFiles(spoolDir)).length === 0, { what: 'the restored spool to be delivered again and removed', timeoutMs: 30_000 });
    expect(await linesOf(developer, id)).toEqual(stored);
  }, 150_000);
});

describe('an agent cut off for longer than the lease', () => {
  it('keeps the fenced run\'s spool and delivers it late itself once the server is back', async () => {
    const { stack, developer } = await startResilienceStack({ leaseSeconds: 6 });
    const name = 'fenced';
    const spoolDir = join(stack.dir, name, 'spool');
    const agent = await stack.startAgent({ name, extraArgs: ['--heartbeat-seconds', '1'] });

    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: LINES, perTick: 100, tickMs: 40 } });
    await waitFor(async () => (await linesOf(developer, id)).length > 0, { what: 'the first lines to be stored' });
    process.kill(stack.proxy.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.proxy.pid), { what: 'the proxy to die' });
    // No renewal gets through: the agent fences itself (kills the child) and keeps the run's spool.
    await waitFor(() => agent.output.some((line) => line.includes('lease lost') && line.includes(id)), { what: 'the agent to fence the run', timeoutMs: 20_000 });
    expect((await spoolFiles(spoolDir)).some((f) => f.endsWith('.run.json'))).toBe(true);

    const proxyPort = new URL(String(stack.proxy.ready.url)).port;
    await startDaemon(['proxy', 'start', '--port', proxyPort, '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir]);
    await waitFor(async () => (await spoolFiles(spoolDir)).length === 0, { what: 'the kept spool to be delivered and removed', timeoutMs: 60_000 });

    const printed = (await linesOf(developer, id)).filter((l) => l.stream === 'stdout');
    const numbers = printed.map((l) => Number(l.message.slice('line '.length)));
    expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
    const late = printed.filter((l) => l.late);
    expect(late.length).toBeGreaterThan(0);
    expect(printed.slice(printed.length - late.length).every((l) => l.late)).toBe(true);
    const run = await waitForFinal(developer, id, 30_000);
    expect([run.state, run.attempt]).toEqual(['CRASHED', 1]);
  }, 120_000);
});
