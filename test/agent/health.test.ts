// The agent's /healthz and /metrics: the verdict and the counters built from its events, and the
// local HTTP endpoint serving them. The end-to-end scrape during an outage is in spool-outage.test.ts.
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { resolveAgentConfig } from '../../agent/config.js';
import { AgentEventEmitter } from '../../agent/events.js';
import { startHealthServer } from '../../agent/health-server.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { cliPath, freePort, onCleanup, tempDir, waitFor } from '../support/harness.js';

function metricsWithClock(staleAfterMs = 3_000) {
  const events = new AgentEventEmitter();
  let now = 0;
  const metrics = new AgentMetrics(events, { staleAfterMs, defaultMetrics: false, monotonicNow: () => now, spoolBytes: () => 42 });
  onCleanup(() => metrics.close());
  return { events, metrics, advance: (ms: number) => (now += ms) };
}

const ready = { agentId: 'a-1', name: 'smtr-1', labels: ['smtr'], concurrency: 2 };

describe('health', () => {
  it('is unavailable until the agent registered, ok while the server answers, unavailable once it goes quiet', () => {
    const { events, metrics, advance } = metricsWithClock();
    expect(metrics.health()).toMatchObject({ status: 'unavailable', reason: 'not registered yet', registered: false });

    events.emit('api:call', { operation: 'registerAgent', outcome: 'ok', code: null, durationMs: 5 });
    events.emit('agent:ready', ready);
    expect(metrics.health()).toMatchObject({ status: 'ok', reason: null, agentId: 'a-1', name: 'smtr-1', registered: true, secondsSinceContact: 0, spoolBytes: 42 });

    advance(2_000);
    events.emit('api:call', { operation: 'heartbeat', outcome: 'transport', code: null, durationMs: 1 });
    advance(1_500);
    expect(metrics.health()).toMatchObject({ status: 'unavailable', reason: 'no answer from the server for more than 3 s', secondsSinceContact: 3.5 });

    // A refusal is an answer: the server is there.
    events.emit('api:call', { operation: 'writeLogs', outcome: 'refused', code: 'BAD_USER_INPUT', durationMs: 3 });
    expect(metrics.health().status).toBe('ok');

    events.emit('agent:shutdown', { reason: 'fatal', runsInterrupted: 0, error: new Error('[TOKEN_EXPIRED] token expired') });
    expect(metrics.health()).toMatchObject({ status: 'unavailable', registered: false, reason: 'the agent stopped: [TOKEN_EXPIRED] token expired' });
  });
});

describe('metrics', () => {
  it('counts runs, lease losses, API errors and dropped lines from the agent events', async () => {
    const { events, metrics } = metricsWithClock();
    events.emit('agent:ready', ready);
    for (const flowRunId of ['r1', 'r2', 'r3']) events.emit('run:claimed', { flowRunId, attempt: 1, version: 2, leaseExpiresAt: '' });
    events.emit('run:started', { flowRunId: 'r1', attempt: 1, pid: 10 });
    const finished = { attempt: 1, message: null, exitCode: 0, signal: null, durationMs: 5 };
    events.emit('run:finished', { ...finished, flowRunId: 'r1', state: 'SUCCESS', reason: null, reported: true });
    events.emit('run:finished', { ...finished, flowRunId: 'r2', state: 'FAILED', reason: 'memory', reported: true });
    events.emit('lease:lost', { flowRunId: 'r3', during: 'fence' });
    events.emit('api:call', { operation: 'writeLogs', outcome: 'transport', code: null, durationMs: 1 });
    events.emit('api:call', { operation: 'writeLogs', outcome: 'transport', code: null, durationMs: 1 });
    events.emit('api:call', { operation: 'setFlowRunState', outcome: 'refused', code: 'LEASE_LOST', durationMs: 1 });
    events.emit('spool:opened', { flowRunId: 'r3', path: '/tmp/x' });
    events.emit('logs:dropped', { flowRunId: 'r3', lines: 7 });

    const text = await metrics.registry.metrics();

    for (const expected of [
      'fluxo_agent_registered 1',
      'fluxo_agent_runs_claimed_total 3',
      'fluxo_agent_runs_started_total 1',
      'fluxo_agent_runs_finished_total{state="SUCCESS",reason="none",reported="true"} 1',
      'fluxo_agent_runs_finished_total{state="FAILED",reason="memory",reported="true"} 1',
      'fluxo_agent_runs_in_progress 1',
      'fluxo_agent_lease_losses_total{during="fence"} 1',
      'fluxo_agent_api_errors_total{operation="writeLogs",kind="transport"} 2',
      'fluxo_agent_api_errors_total{operation="setFlowRunState",kind="LEASE_LOST"} 1',
      'fluxo_agent_spool_spills_total 1',
      'fluxo_agent_spool_bytes 42',
      'fluxo_agent_log_lines_dropped_total 7',
    ]) {
      expect(text.split('\n')).toContain(expected);
    }
    expect(text).toContain('# TYPE fluxo_agent_api_request_duration_seconds histogram');
  });
});

describe('the local port', () => {
  it('answers 503 from /healthz while the agent cannot register, serves /metrics, and nothing else', async () => {
    const events = new AgentEventEmitter();
    const metrics = new AgentMetrics(events, { staleAfterMs: 30_000 });
    onCleanup(() => metrics.close());
    const server = await startHealthServer({ port: 0, metrics });
    onCleanup(() => server.close());
    const stop = new AbortController();
    const config = resolveAgentConfig({ apiUrl: `http://127.0.0.1:${await freePort()}/graphql`, token: 'jwt', workDir: await tempDir() });
    const starting = startAgent(config, { events, signal: stop.signal }).catch((error: Error) => error);
    onCleanup(async () => {
      stop.abort();
      await starting;
    });

    await waitFor(async () => (await metrics.registry.metrics()).includes('fluxo_agent_api_errors_total{operation="registerAgent",kind="transport"}'), { what: 'a failed registration' });
    const health = await fetch(`${server.url}/healthz`);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable', reason: 'not registered yet' });
    const scrape = await fetch(`${server.url}/metrics`);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scrape.text()).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('fluxo agent start refuses a metrics port it cannot bind, with exit code 2', async () => {
    const events = new AgentEventEmitter();
    const metrics = new AgentMetrics(events, { staleAfterMs: 1_000, defaultMetrics: false });
    const taken = await startHealthServer({ port: 0, metrics });
    onCleanup(() => taken.close());
    const port = new URL(taken.url).port;

    const result = await execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', '--work-dir', join(await tempDir(), 'a'), '--metrics-port', port], {
      reject: false,
      timeout: 30_000,
      env: { FLUXO_TOKEN: 'jwt' },
    });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`error: \\[BAD_USER_INPUT\\] cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});
