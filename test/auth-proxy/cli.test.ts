import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { verifyIdentity } from '../../common/identity.js';
import { keyPaths } from '../../common/keys.js';
import { cliPath, tempDir } from '../support/harness.js';
import { startDaemon } from '../support/daemon.js';
import { startEchoUpstream, type EchoedRequest } from './support/echo-upstream.js';
import { call, codeAndMessage, loadKeys, startTestProxy } from './support/fixtures.js';

/** Runs the compiled CLI and returns what happened. */
async function fluxo(args: string[], env: Record<string, string> = {}) {
  const result = await execa(process.execPath, [cliPath, ...args], { reject: false, env: { FLUXO_KEYS_DIR: '', ...env }, extendEnv: true });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

describe('fluxo keys init and fluxo token sign', () => {
  it('mints a token the proxy accepts as the requested identity', async () => {
    const dir = await tempDir();
    const init = await fluxo(['keys', 'init', '--dir', dir]);
    expect(init).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^created +.*identity\.secret$/m) });
    const created = await fluxo(['token', 'sign', '--tenant', 'rj-smtr', '--role', 'agent', '--subject', 'agent-1', '--ttl', '30m', '--keys-dir', dir]);
    expect(created.exitCode).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const upstream = await startEchoUpstream();
    const keys = await loadKeys(dir);
    const proxy = await startTestProxy(keys, upstream.url);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: '{"query":"{ viewer { tenant } }"}' });
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.body) as EchoedRequest;
    expect(await verifyIdentity(echoed.headers['x-fluxo-identity'] as string, keys.identitySecret)).toEqual({
      subject: 'agent-1',
      tenant: 'rj-smtr',
      role: 'agent',
    });
  });

  it('prints {token, expiresAt} with --json, reading the keys directory from FLUXO_KEYS_DIR', async () => {
    const dir = await tempDir();
    await fluxo(['keys', 'init'], { FLUXO_KEYS_DIR: dir });
    const before = Date.now();
    const created = await fluxo(['token', 'sign', '--tenant', 'rj-smtr', '--role', 'viewer', '--ttl', '2h', '--json'], { FLUXO_KEYS_DIR: dir });
    expect(created.exitCode).toBe(0);
    const { token, expiresAt } = JSON.parse(created.stdout) as { token: string; expiresAt: string };
    expect(token.split('.')).toHaveLength(3);
    expect(Date.parse(expiresAt) - before).toBeGreaterThan(2 * 3600 * 1000 - 5_000);
  });

  it.each([
    { name: 'an unknown role', args: ['--tenant', 'rj-smtr', '--role', 'nope'], message: 'error: [BAD_USER_INPUT] role "nope" is not one of admin, tenant-admin, developer, viewer, agent, ci' },
    { name: 'an invalid tenant', args: ['--tenant', 'RJ SMTR', '--role', 'viewer'], message: 'error: [BAD_USER_INPUT] tenant "RJ SMTR" is not valid' },
    { name: 'an unreadable ttl', args: ['--tenant', 'rj-smtr', '--role', 'viewer', '--ttl', '2w'], message: 'error: [BAD_USER_INPUT] ttl "2w" is not a duration' },
    { name: 'a missing --tenant', args: ['--role', 'viewer'], message: "error: required option '--tenant <tenant>' not specified" },
  ])('exits 2 with a message for $name', async ({ args, message }) => {
    const dir = await tempDir();
    await fluxo(['keys', 'init', '--dir', dir]);
    const result = await fluxo(['token', 'sign', ...args, '--keys-dir', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  it('exits 2 naming the missing private key file and the command that creates it', async () => {
    const dir = await tempDir();
    const result = await fluxo(['token', 'sign', '--tenant', 'rj-smtr', '--role', 'viewer', '--keys-dir', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`error: [BAD_USER_INPUT] private signing key ${keyPaths(dir).privateSigningKey}: it does not exist; create the keys with \`fluxo keys init`);
  });
});

describe('fluxo proxy start', () => {
  it('logs ready with its url, forwards authenticated requests, refuses others, and stops on SIGTERM', async () => {
    const dir = await tempDir();
    await fluxo(['keys', 'init', '--dir', dir]);
    const upstream = await startEchoUpstream();
    const daemon = await startDaemon(['proxy', 'start', '--port', '0', '--upstream', upstream.url, '--keys-dir', dir]);
    expect(daemon.ready).toMatchObject({ msg: 'ready', component: 'proxy', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const url = daemon.ready.url as string;

    const token = (await fluxo(['token', 'sign', '--tenant', 'rj-smtr', '--role', 'developer', '--keys-dir', dir])).stdout.trim();
    expect((await call(`${url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: '{"query":"{ viewer { tenant } }"}' })).status).toBe(200);
    const refused = await call(`${url}/graphql`, { body: '{}' });
    expect({ status: refused.status, ...codeAndMessage(refused.body) }).toMatchObject({ status: 401, code: 'TOKEN_MISSING' });

    await daemon.stop();
    expect((await daemon.child).exitCode).toBe(0);
  });

  it('exits 2 naming the missing key file when the keys directory is empty', async () => {
    const dir = await tempDir();
    const result = await fluxo(['proxy', 'start', '--port', '0', '--keys-dir', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`error: [BAD_USER_INPUT] public key set ${keyPaths(dir).publicKeySet}: it does not exist`);
  });

  it('exits 2 for a port that is not a number', async () => {
    const result = await fluxo(['proxy', 'start', '--port', 'eighty']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('port must be a whole number between 0 and 65535');
  });
});
