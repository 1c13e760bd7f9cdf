// The server out of reach mid-run, for real: the auth proxy is SIGKILLed while a flow logs 20,000
// lines, and restarted on the same port before the lease runs out. The agent (the `fluxo agent
// start` daemon) must buffer on disk, then deliver every line exactly once and in order before the
// final state; its /healthz and /metrics tell the story meanwhile.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRun, runDetails, waitForFinal } from '../e2e/queries.js';
import { startDaemon } from '../support/daemon.js';
import { freePort, isAlive, waitFor } from '../support/harness.js';
import { allLogLines, startResilienceStack } from './support/resilience-stack.js';

const LINES = 20_000;

/** A sample of a Prometheus text exposition: `name{labels} value`. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const spoolFiles = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.jsonl'));

describe('when the server is unreachable mid-run', () => {
  it('buffers states and logs on disk, delivers every line once and in order when the server returns, then reports SUCCESS', async () => {
    const { stack, developer } = await startResilienceStack({ leaseSeconds: 15 });
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const agent = await stack.startAgent({ name: 'buffered', extraArgs: ['--heartbeat-seconds', '1', '--metrics-port', String(metricsPort)] });
    const spoolDir = join(stack.dir, 'buffered', 'spool');
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);

    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: LINES, perTick: 200, tickMs: 40 } });
    await waitFor(async () => (await developer.request<{ flowRun: { logs: { nodes: unknown[] } } }>('query($id: ID!) { flowRun(id: $id) { logs(first: 1) { nodes { id } } } }', { id })).flowRun.logs.nodes.length > 0, {
      what: 'the first lines to be stored',
    });

    // kill -9: connections drop at once, requests in flight included (a batch may have landed unanswered).
    process.kill(stack.proxy.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.proxy.pid), { what: 'the proxy to die' });
    const spilled = await waitFor(async () => {
      const files = await spoolFiles(spoolDir);
      return files.length > 0 ? files : undefined;
    }, { what: 'a spool file', timeoutMs: 10_000 });
    expect(spilled[0]).toMatch(new RegExp(`^${id}\\.a1\\.\\d+\\.jsonl$`));
    // Two missed heartbeats later the agent says it is cut off; the metrics show what waits on disk.
    const unhealthy = await waitFor(async () => {
      const response = await fetch(`${metricsUrl}/healthz`);
      return response.status === 503 ? ((await response.json()) as Record<string, unknown>) : undefined;
    }, { what: '/healthz to answer 503', timeoutMs: 10_000 });
    expect(unhealthy).toMatchObject({ status: 'unavailable', registered: true, runsInProgress: 1, reason: expect.stringContaining('no answer from the server') });
    const during = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(sample(during, 'fluxo_agent_spool_bytes')).toBeGreaterThan(0);
    expect(sample(during, 'fluxo_agent_runs_in_progress')).toBe(1);

    const proxyPort = new URL(String(stack.proxy.ready.url)).port;
    await startDaemon(['proxy', 'start', '--port', proxyPort, '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir]);
    const run = await waitForFinal(developer, id, 90_000);

    expect(run, agent.output.slice(-40).join('\n')).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    expect((await runDetails(developer, id)).taskRuns.map((t) => [t.key, t.state])).toEqual([['print#1', 'SUCCESS']]);
    const stored = await allLogLines(developer, id);
    const printed = stored.filter((line) => line.stream === 'stdout').map((line) => line.message);
    expect(printed).toHaveLength(LINES);
    expect(printed).toEqual(Array.from({ length: LINES }, (_, i) => `line ${String(i).padStart(5, '0')}`));
    expect(stored.filter((line) => line.message.includes('were dropped'))).toEqual([]);
    expect(await spoolFiles(spoolDir)).toEqual([]);
    expect(agent.output.some((line) => line.includes('buffering the run') && line.includes(id))).toBe(true);

    await waitFor(async () => (await fetch(`${metricsUrl}/healthz`)).status === 200, { what: '/healthz to recover' });
    const after = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(sample(after, 'fluxo_agent_runs_finished_total', 'state="SUCCESS",reason="none",reported="true"')).toBe(1);
    expect(sample(after, 'fluxo_agent_runs_claimed_total')).toBe(1);
    expect(sample(after, 'fluxo_agent_runs_started_total')).toBe(1);
    expect(sample(after, 'fluxo_agent_runs_in_progress')).toBe(0);
    expect(sample(after, 'fluxo_agent_spool_bytes')).toBe(0);
    expect(sample(after, 'fluxo_agent_spool_spills_total')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'fluxo_agent_api_errors_total', 'operation="heartbeat",kind="transport"')).toBeGreaterThan(0);
    expect(Math.abs(sample(after, 'fluxo_agent_last_server_contact_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(10);
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  }, 120_000);
});
