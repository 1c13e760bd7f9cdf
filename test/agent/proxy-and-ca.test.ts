// Agents behind a corporate proxy and a private certificate authority, for real: a forwarding
// proxy (test/support/forward-proxy.ts), TLS (a self-signed certificate from test/support/tls.ts) in front of the stack's auth proxy,
// and the `fluxo agent start` daemon with HTTP_PROXY / HTTPS_PROXY / NO_PROXY and --ca-file.
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { GraphQLClient, TransportError } from '../../client/graphql-client.js';
import { createRun, waitForFinal } from '../e2e/queries.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { cliPath, repoRoot, tempDir } from '../support/harness.js';
import { startResilienceStack } from './support/resilience-stack.js';
import { selfSignedCertificate } from '../support/tls.js';
import { startTlsFront } from './support/tls-front.js';

/** Proxy variables in both spellings (undici prefers the lower-case one), so nothing of the test's own environment leaks in. */
const proxyEnv = (values: { http?: string; https?: string; no?: string }): Record<string, string> => ({
  HTTP_PROXY: values.http ?? '',
  http_proxy: values.http ?? '',
  HTTPS_PROXY: values.https ?? '',
  https_proxy: values.https ?? '',
  NO_PROXY: values.no ?? '',
  no_proxy: values.no ?? '',
});

async function agentNameOf(client: GraphQLClient, id: string): Promise<string | undefined> {
  const { flowRun } = await client.request<{ flowRun: { agent: { name: string } | null } }>('query($id: ID!) { flowRun(id: $id) { agent { name } } }', { id });
  return flowRun.agent?.name;
}

describe('behind a forwarding proxy', () => {
  it('sends every request through HTTP_PROXY, and with NO_PROXY for the API host goes direct', async () => {
    const { stack, developer } = await startResilienceStack();
    const proxy = await startForwardProxy();
    const apiHost = new URL(stack.apiUrl).host;

    const proxied = await stack.startAgent({ name: 'proxied', extraArgs: ['--heartbeat-seconds', '1'], env: proxyEnv({ http: proxy.url, https: proxy.url }) });
    const first = await createRun(developer, { flowName: 'paced', parameters: { lines: 50 } });
    expect(await waitForFinal(developer, first)).toMatchObject({ state: 'SUCCESS' });
    expect(await agentNameOf(developer, first)).toBe('proxied');
    // undici tunnels proxied requests, plain http:// included, through CONNECT.
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([apiHost]));
    await proxied.stop();

    const tunnelsBefore = proxy.tunnels.length;
    await stack.startAgent({ name: 'direct', extraArgs: ['--heartbeat-seconds', '1'], env: proxyEnv({ http: proxy.url, https: proxy.url, no: '127.0.0.1' }) });
    const second = await createRun(developer, { flowName: 'paced', parameters: { lines: 50 } });
    expect(await waitForFinal(developer, second)).toMatchObject({ state: 'SUCCESS' });
    expect(await agentNameOf(developer, second)).toBe('direct');
    expect(proxy.tunnels.length).toBe(tunnelsBefore);
    expect(proxy.requests).toEqual([]);
  });

  it('the harness proxy also forwards absolute-URI requests (the other way a client may use it)', async () => {
    const { stack } = await startResilienceStack();
    const proxy = await startForwardProxy();
    const proxyUrl = new URL(proxy.url);

    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: proxyUrl.hostname, port: proxyUrl.port, method: 'GET', path: `${String(stack.proxy.ready.url)}/healthz` }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end();
    });

    expect(body).toMatch(/^200 /);
    expect(proxy.requests).toEqual([`GET ${String(stack.proxy.ready.url)}/healthz`]);
  });
});

describe('a private certificate authority', () => {
  it('the client trusts the API certificate only with the CA (ca option), and says why it refuses', async () => {
    const { stack } = await startResilienceStack();
    const certificate = await selfSignedCertificate();
    const front = await startTlsFront(certificate, Number(new URL(stack.apiUrl).port));
    const apiUrl = `https://localhost:${front.port}/graphql`;
    const token = await stack.token('developer');

    const trusting = new GraphQLClient({ apiUrl, token, ca: certificate.cert });
    expect(await trusting.request('{ __typename }')).toEqual({ __typename: 'Query' });

    const refusing = new GraphQLClient({ apiUrl, token });
    const error = await refusing.request('{ __typename }').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/^cannot reach https:\/\/localhost:\d+\/graphql: fetch failed \(.*(self-signed certificate|unable to verify)/);
  });

  it('keeps NODE_EXTRA_CA_CERTS trusted, with and without an extra CA of its own', async () => {
    const { stack } = await startResilienceStack();
    const certificate = await selfSignedCertificate();
    const unrelated = await selfSignedCertificate('unrelated');
    const front = await startTlsFront(certificate, Number(new URL(stack.apiUrl).port));
    const script = `
      import { GraphQLClient } from ${JSON.stringify(join(repoRoot, 'dist', 'client', 'graphql-client.js'))};
      const [apiUrl, token, ca] = process.argv.slice(1);
      const client = new GraphQLClient({ apiUrl, token, ...(ca ? { ca } : {}) });
      console.log(JSON.stringify(await client.request('{ __typename }')));
    `;
    const token = await stack.token('developer');
    const run = (ca: string) =>
      execa(process.execPath, ['--input-type=module', '-e', script, `https://localhost:${front.port}/graphql`, token, ca], {
        env: { NODE_EXTRA_CA_CERTS: certificate.certPath, ...proxyEnv({}) },
        reject: false,
      });

    // Node's TLS (and so undici) trusts NODE_EXTRA_CA_CERTS by default; an explicit CA list would
    // replace that default set, so the client lists it again.
    for (const ca of ['', unrelated.cert]) {
      const result = await run(ca);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('{"__typename":"Query"}');
    }
  });

  it('an agent with --ca-file reaches an https API through HTTPS_PROXY (CONNECT) and runs flows', async () => {
    const { stack, developer } = await startResilienceStack();
    const certificate = await selfSignedCertificate();
    const front = await startTlsFront(certificate, Number(new URL(stack.apiUrl).port));
    const proxy = await startForwardProxy();

    await stack.startAgent({
      name: 'tls-agent',
      extraArgs: ['--api', `https://localhost:${front.port}/graphql`, '--ca-file', certificate.certPath, '--heartbeat-seconds', '1'],
      env: proxyEnv({ https: proxy.url }),
    });
    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: 20 } });

    expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    expect(await agentNameOf(developer, id)).toBe('tls-agent');
    expect(new Set(proxy.tunnels)).toEqual(new Set([`localhost:${front.port}`]));
  });

  it.each([
    ['a missing file', (dir: string) => join(dir, 'missing.pem'), /cannot read the CA file .*missing\.pem: ENOENT/],
    ['a file without a certificate', (dir: string) => join(dir, 'empty.pem'), /holds no PEM certificate/],
  ])('fluxo agent start refuses --ca-file with %s (exit 2)', async (_case, file, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'empty.pem'), 'not a certificate\n');

    const result = await execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', '--work-dir', join(dir, 'a'), '--ca-file', file(dir)], {
      reject: false,
      timeout: 30_000,
      env: { FLUXO_TOKEN: 'jwt' },
    });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
