// TLS terminated by the fluxo proxy itself (`--tls-cert`, `--tls-key`): an agent polls over HTTPS
// trusting the self-signed certificate through its `--ca-file`, runs a flow end to end, and a
// client subscribes over WSS.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphQLClient, TransportError } from '../../client/graphql-client.js';
import { startDaemon } from '../support/daemon.js';
import { onCleanup, repoRoot } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tls.js';
import { createRun, waitForFinal } from './queries.js';

describe('the proxy terminating TLS', () => {
  let stack: Stack;
  let certificate: TestCertificate;
  let httpsApi: string;

  beforeAll(async () => {
    stack = await startStack();
    certificate = await selfSignedCertificate();
    const proxy = await startDaemon([
      'proxy', 'start', '--port', '0', '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir, '--tls-cert', certificate.certPath, '--tls-key', certificate.keyPath,
    ]);
    expect(proxy.ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    httpsApi = `${String(proxy.ready.url)}/graphql`;
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'hello.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 60_000);

  const client = async (role: 'developer' | 'viewer', ca: string | undefined) => {
    const created = new GraphQLClient({ apiUrl: httpsApi, token: await stack.token(role), ...(ca ? { ca } : {}) });
    onCleanup(() => created.close());
    return created;
  };

  it('serves an agent polling over HTTPS with its --ca-file: a run goes end to end', async () => {
    await stack.startAgent({ name: 'over-https', apiUrl: httpsApi, extraArgs: ['--ca-file', certificate.certPath] });
    const developer = await client('developer', certificate.cert);
    const id = await createRun(developer, { flowName: 'hello' });
    expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    const { flowRun } = await developer.request<{ flowRun: { agent: { name: string } } }>('query($id: ID!) { flowRun(id: $id) { agent { name } } }', { id });
    expect(flowRun.agent.name).toBe('over-https');
  });

  it('carries a subscription over WSS', async () => {
    const developer = await client('developer', certificate.cert);
    const id = await createRun(developer, { flowName: 'hello', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    const viewer = await client('viewer', certificate.cert);
    const state = await new Promise<string>((resolve, reject) => {
      viewer.subscribe<{ flowRunStateChanged: { flowRun: { state: string } } }>(
        'subscription($id: ID!) { flowRunStateChanged(id: $id) { flowRun { state } } }',
        { id },
        { onData: (data) => resolve(data.flowRunStateChanged.flowRun.state), onError: reject },
      );
    });
    expect(state).toBe('SCHEDULED');
  });

  it('is refused by a client that does not trust the certificate', async () => {
    const untrusting = await client('viewer', undefined);
    await expect(untrusting.request('{ viewer { tenant } }')).rejects.toThrow(TransportError);
    await expect(untrusting.request('{ viewer { tenant } }')).rejects.toThrow(/self.signed certificate/);
  });
});
