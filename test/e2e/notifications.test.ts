// Notifications end to end (server, proxy and the CLI as separate processes, a real HTTP receiver
// on 127.0.0.1): a signed webhook that refuses the first two attempts is accepted exactly once
// per event, Slack and Discord get their formats, a LATE run is reported once, a receiver that
// always fails is listed by `deliveries --failed`, and a server killed with SIGKILL mid-delivery
// delivers after its restart.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { isAlive, onCleanup, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startStack, TENANT, type Stack } from '../support/stack.js';
import { createRun } from './queries.js';

const PUBLIC_URL = 'https://fluxo.example.org';
const SIGNING_VALUE = 'receiver-shared-key-7c1e';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** What the receiver answered (0: it never answered). */
  status: number;
}

/**
 * A local receiver. Per path: `/flaky` answers 500 to a delivery's first two attempts, then 200;
 * `/down` always 500; `/hang-once` never answers its first request; everything else 200.
 */
async function startReceiver() {
  const received: Received[] = [];
  const attemptsById = new Map<string, number>();
  let hung = false;
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['x-fluxo-delivery']);
      const n = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, n);
      let status = 200;
      if (path === '/flaky' && n <= 2) status = 500;
      if (path === '/down') status = 500;
      if (path === '/hang-once' && !hung) {
        hung = true;
        received.push({ path, headers: req.headers, body, status: 0 });
        hanging.push(res);
        return;
      }
      received.push({ path, headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, received, accepted: (path: string) => received.filter((r) => r.path === path && r.status === 200) };
}

/** Registers `etl` (no bundle is fetched: the test's agent is a GraphQL client, not a process running code). */
async function registerEtl(developer: GraphQLClient): Promise<void> {
  await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
    input: { project: 'production', name: 'etl', storageUri: 'file:///nowhere/etl.mjs', sha256: 'a'.repeat(64), size: 1, entrypoint: 'main' },
  });
}

/** An agent speaking the protocol by hand: claims the next run and reports `end` for it. */
async function agentOf(stack: Stack) {
  const agent = await stack.client('agent');
  const { registerAgent } = await agent.request<{ registerAgent: { id: string } }>('mutation { registerAgent(input: { name: "by-hand", labels: [], concurrency: 10 }) { id } }');
  return async (runId: string, end: string): Promise<void> => {
    const { claimFlowRuns } = await agent.request<{ claimFlowRuns: { leaseToken: string; flowRun: { id: string; version: number } }[] }>(
      'mutation($agent: ID!) { claimFlowRuns(input: { agentId: $agent, max: 1, waitMs: 0 }) { leaseToken flowRun { id version } } }',
      { agent: registerAgent.id },
    );
    const claim = claimFlowRuns[0]!;
    expect(claim.flowRun.id).toBe(runId);
    const set = 'mutation($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }';
    const running = await agent.request<{ setFlowRunState: { version: number } }>(set, { input: { flowRunId: runId, leaseToken: claim.leaseToken, expectedVersion: claim.flowRun.version, state: 'RUNNING' } });
    await agent.request(set, {
      input: { flowRunId: runId, leaseToken: claim.leaseToken, expectedVersion: running.setFlowRunState.version, state: end, ...(end === 'SUCCESS' ? {} : { reason: 'exit-code', message: 'exit code 3' }) },
    });
  };
}

interface DeliveryJson {
  id: string;
  event: string;
  state: string;
  attempts: number;
  lastError: string | null;
  rule: { target: string } | null;
  flowRun: { id: string } | null;
}

async function deliveries(stack: Stack, failed = false): Promise<DeliveryJson[]> {
  const out = await stack.cli(['notifications', 'deliveries', '--json', ...(failed ? ['--failed'] : [])]);
  expect(out.exitCode, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as DeliveryJson[];
}

async function add(stack: Stack, args: string[]): Promise<string> {
  const out = await stack.cli(['notifications', 'add', ...args, '--json']);
  expect(out.exitCode, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { id: string }).id;
}

describe('notifications, end to end', () => {
  it('delivers each event once to a receiver that refuses twice, signed and linked; Slack, Discord, LATE and failed deliveries', async () => {
    const receiver = await startReceiver();
    const stack = await startStack({
      serverArgs: ['--allow-http-webhooks', '--public-url', `${PUBLIC_URL}/`, '--notification-backoff', '300ms,300ms', '--notifier-interval-ms', '100', '--late-after-minutes', '0.02'],
    });
    const valueFile = join(stack.dir, 'signing.txt');
    await writeFile(valueFile, SIGNING_VALUE, { mode: 0o600 });
    const stored = await stack.cli(['secrets', 'set', 'HOOK_SIGNING', '--from-file', valueFile], { role: 'tenant-admin' });
    expect(stored.exitCode, stored.stderr).toBe(0);
    const developer = await stack.client('developer');
    await registerEtl(developer);

    // Refusals: not https, an unknown signing secret, a viewer.
    const plain = await stack.cli(['notifications', 'add', '--on', 'FAILED', '--webhook', 'http://example.org/hook']);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('[BAD_USER_INPUT]');
    const unknownSecret = await stack.cli(['notifications', 'add', '--on', 'FAILED', '--webhook', `${receiver.base}/flaky`, '--signing-secret', 'NOPE']);
    expect(unknownSecret.exitCode).toBe(4);
    const byViewer = await stack.cli(['notifications', 'list'], { role: 'viewer' });
    expect(byViewer.stderr).toContain('[FORBIDDEN]');

    await add(stack, ['--on', 'FAILED,SUCCESS', '--webhook', `${receiver.base}/flaky`, '--signing-secret', 'HOOK_SIGNING']);
    await add(stack, ['--on', 'FAILED', '--flow', 'etl', '--slack', `${receiver.base}/slack/T000/B000/secret-path`]);
    await add(stack, ['--on', 'FAILED', '--discord', `${receiver.base}/discord`]);
    await add(stack, ['--on', 'SUCCESS', '--webhook', `${receiver.base}/down`]);
    await add(stack, ['--on', 'LATE', '--flow', 'etl', '--slack', `${receiver.base}/late`]);
    const listed = await stack.cli(['notifications', 'list']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`${receiver.base}/…`);
    expect(listed.stdout).not.toContain('secret-path');

    const finish = await agentOf(stack);
    const failed = await createRun(developer, { flowName: 'etl' });
    await finish(failed, 'FAILED');
    const succeeded = await createRun(developer, { flowName: 'etl' });
    await finish(succeeded, 'SUCCESS');
    // Due a minute ago, labelled so that no agent takes it: LATE after --late-after-minutes (1.2 s).
    const late = await createRun(developer, { flowName: 'etl', labels: ['nobody-has-this'], scheduledAt: new Date(Date.now() - 60_000).toISOString() });

    // The signed webhook: two events, each accepted once, on its third attempt.
    const accepted = await waitFor(() => (receiver.accepted('/flaky').length >= 2 ? receiver.accepted('/flaky') : undefined), { timeoutMs: 30_000, what: 'two accepted webhook deliveries' });
    const flakyAll = receiver.received.filter((r) => r.path === '/flaky');
    expect(flakyAll).toHaveLength(6);
    const bodies = accepted.map((r) => JSON.parse(r.body) as { id: string; event: string; tenant: string; flow: { name: string; project: string }; run: { id: string; state: string; reason: string | null; attempt: number }; link: string });
    expect(new Set(accepted.map((r) => r.headers['x-fluxo-delivery'])).size).toBe(2);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(2);
    for (const [i, r] of accepted.entries()) {
      const body = bodies[i]!;
      expect(r.headers['x-fluxo-delivery']).toBe(body.id);
      expect(r.headers['x-fluxo-event']).toBe(body.event);
      expect(r.headers['x-fluxo-signature']).toBe(`sha256=${createHmac('sha256', SIGNING_VALUE).update(r.body).digest('hex')}`);
      // Every attempt of a delivery carried the same id.
      expect(flakyAll.filter((x) => x.headers['x-fluxo-delivery'] === body.id)).toHaveLength(3);
      expect(body.link).toBe(`${PUBLIC_URL}/runs/${body.run.id}`);
      expect(body).toMatchObject({ tenant: TENANT, flow: { name: 'etl', project: 'production' } });
    }
    expect(bodies.map((b) => `${b.event}:${b.run.id}:${b.run.state}`).sort()).toEqual([`FAILED:${failed}:FAILED`, `SUCCESS:${succeeded}:SUCCESS`].sort());
    expect(bodies.find((b) => b.event === 'FAILED')!.run).toMatchObject({ reason: 'exit-code', attempt: 1 });
    await waitFor(async () => {
      const flaky = (await deliveries(stack)).filter((d) => d.rule?.target === `${receiver.base}/…` && d.state === 'DELIVERED' && d.attempts === 3);
      return flaky.length >= 2 || undefined;
    }, { what: 'the webhook deliveries recorded with 3 attempts' });

    // Slack and Discord formats.
    const [slack] = await waitFor(() => (receiver.accepted('/slack/T000/B000/secret-path').length ? receiver.accepted('/slack/T000/B000/secret-path') : undefined), { what: 'the Slack message' });
    const slackBody = JSON.parse(slack!.body) as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    for (const part of [TENANT, 'production/etl', failed, 'FAILED', 'exit-code', `${PUBLIC_URL}/runs/${failed}`]) expect(slackBody.text).toContain(part);
    expect(slackBody.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(slack!.headers['x-fluxo-signature']).toBeUndefined();
    const [discord] = await waitFor(() => (receiver.accepted('/discord').length ? receiver.accepted('/discord') : undefined), { what: 'the Discord message' });
    const discordBody = JSON.parse(discord!.body) as { content: string; embeds: { title: string; url: string; fields: { name: string; value: string }[] }[] };
    expect(discordBody.content).toContain(`${PUBLIC_URL}/runs/${failed}`);
    expect(discordBody.embeds[0]).toMatchObject({ url: `${PUBLIC_URL}/runs/${failed}`, title: 'production/etl FAILED' });
    expect(discordBody.embeds[0]!.fields).toEqual(expect.arrayContaining([{ name: 'tenant', value: TENANT, inline: true }]));

    // LATE: once, however many passes see the run still waiting.
    const [lateMessage] = await waitFor(() => (receiver.accepted('/late').length ? receiver.accepted('/late') : undefined), { what: 'the LATE message' });
    expect((JSON.parse(lateMessage!.body) as { text: string }).text).toContain(`run ${late} is LATE`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.accepted('/late')).toHaveLength(1);

    // The receiver that always fails: FAILED after the last of 3 attempts, listed by --failed.
    const failedList = await waitFor(async () => {
      const list = await deliveries(stack, true);
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 30_000, what: 'a FAILED delivery' });
    expect(failedList).toEqual([expect.objectContaining({ event: 'SUCCESS', state: 'FAILED', attempts: 3, lastError: 'HTTP 500', flowRun: expect.objectContaining({ id: succeeded }) })]);
    expect(receiver.received.filter((r) => r.path === '/down')).toHaveLength(3);
    const table = await stack.cli(['notifications', 'deliveries', '--failed']);
    expect(table.stdout).toMatch(new RegExp(`${failedList[0]!.id}\\s+SUCCESS\\s+${succeeded}\\s+FAILED\\s+3\\s+HTTP 500`));

    // The URL is a credential: no daemon printed a receiver's path.
    for (const daemon of [stack.server, stack.proxy]) expect(daemon.output.join('\n')).not.toContain('secret-path');
  }, 120_000);

  it.each(['sqlite', 'postgres'] as const)('delivers after a server killed with SIGKILL mid-delivery is restarted: nothing acknowledged is lost (%s)', async (database) => {
    const receiver = await startReceiver();
    const stack = await startStack({
      serverArgs: ['--allow-http-webhooks', '--notifier-interval-ms', '100', '--leader-retry-ms', '500'],
      ...(database === 'postgres' ? { database: await freshPostgresDatabase() } : {}),
    });
    const developer = await stack.client('developer');
    await registerEtl(developer);
    await add(stack, ['--on', 'FAILED', '--webhook', `${receiver.base}/hang-once`]);
    const finish = await agentOf(stack);
    const first = await createRun(developer, { flowName: 'etl' });
    const second = await createRun(developer, { flowName: 'etl' });
    await finish(first, 'FAILED');
    // The first attempt reached the receiver, which holds it unanswered; the server dies with it in
    // flight, and the second run's failure is acknowledged just before the kill.
    const [hung] = await waitFor(() => (receiver.received.length ? receiver.received : undefined), { what: 'the first attempt' });
    await finish(second, 'FAILED');
    const port = Number(new URL(stack.serverUrl).port);
    process.kill(stack.server.pid, 'SIGKILL');
    await stack.server.child.catch(() => undefined);
    expect(isAlive(stack.server.pid)).toBe(false);
    await stack.startReplica({ serverPort: port, proxy: false });

    // After the first attempt's hold (timeout + 5 s), it is sent again under the same id.
    await waitFor(() => (receiver.accepted('/hang-once').length >= 2 ? true : undefined), { timeoutMs: 45_000, intervalMs: 200, what: 'both deliveries after the restart' });
    const bodies = receiver.accepted('/hang-once').map((r) => JSON.parse(r.body) as { id: string; run: { id: string } });
    expect(bodies.map((b) => b.run.id).sort()).toEqual([first, second].sort());
    expect(new Set(bodies.map((b) => b.id)).size).toBe(2);
    expect(bodies.find((b) => b.run.id === first)!.id).toBe(hung!.headers['x-fluxo-delivery']);
    expect((JSON.parse(hung!.body) as { link: string | null }).link).toBeNull();
    const recorded = await deliveries(stack);
    expect(recorded.map((d) => d.state)).toEqual(['DELIVERED', 'DELIVERED']);
  }, 120_000);
});
