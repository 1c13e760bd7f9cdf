// `fluxo proxy start`'s transport settings: rate limits, TLS and the auth config, each refused with
// exit code 2 and a message naming the setting when it is wrong.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { checkTlsCredentials, loadTlsCredentials } from '../../auth-proxy/tls.js';
import { cliPath, tempDir } from '../support/harness.js';
import { selfSignedCertificate } from '../support/tls.js';

async function proxyStart(args: string[]) {
  const dir = await tempDir();
  await execa(process.execPath, [cliPath, 'keys', 'init', '--dir', dir]);
  const result = await execa(process.execPath, [cliPath, 'proxy', 'start', '--port', '0', '--keys-dir', dir, ...args], { reject: false, timeout: 20_000 });
  return { exitCode: result.exitCode, stderr: String(result.stderr) };
}

describe('fluxo proxy start refuses bad transport settings', () => {
  it.each([
    { name: 'a rate limit without a burst', args: ['--rate-limit-token', '50'], message: 'rate-limit-token must be <requests per second>:<burst> with both above 0 (e.g. 50:100), or 0 to disable it; got "50"' },
    { name: 'a zero burst', args: ['--rate-limit-tenant', '300:0'], message: 'rate-limit-tenant must be <requests per second>:<burst>' },
    { name: 'a negative service-token cache', args: ['--service-token-cache-seconds', '-1'], message: 'service-token-cache-seconds must be a whole number between 0 and 3600' },
    { name: '--tls-cert without --tls-key', args: ['--tls-cert', '/nonexistent/cert.pem'], message: 'error: [BAD_USER_INPUT] --tls-cert and --tls-key go together' },
    { name: 'a certificate file that does not exist', args: ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], message: 'error: [BAD_USER_INPUT] cannot read the TLS certificate /nonexistent/cert.pem: it does not exist' },
    { name: 'an auth config that does not exist', args: ['--auth-config', '/nonexistent/auth.json'], message: 'error: [BAD_USER_INPUT] auth config /nonexistent/auth.json does not exist' },
  ])('exits 2 for $name', async ({ args, message }) => {
    const result = await proxyStart(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('exits 2 when the key does not belong to the certificate', async () => {
    const [one, other] = [await selfSignedCertificate(), await selfSignedCertificate()];
    const result = await proxyStart(['--tls-cert', one.certPath, '--tls-key', other.keyPath]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`error: [BAD_USER_INPUT] the TLS key ${other.keyPath} does not belong to the certificate ${one.certPath}`);
  });
});

describe('TLS credentials', () => {
  it('loads a matching certificate and key', async () => {
    const certificate = await selfSignedCertificate();
    expect(await loadTlsCredentials(certificate.certPath, certificate.keyPath)).toEqual({ cert: certificate.cert, key: certificate.key });
  });

  it.each([
    { name: 'a certificate that is not PEM', credentials: (pem: { cert: string; key: string }) => ({ ...pem, cert: 'hello' }), message: /^the TLS certificate tls\.cert is not a PEM certificate/ },
    { name: 'a key that is not PEM', credentials: (pem: { cert: string; key: string }) => ({ ...pem, key: 'hello' }), message: /^the TLS key tls\.key is not an unencrypted PEM private key/ },
  ])('refuses $name with BAD_USER_INPUT', async ({ credentials, message }) => {
    const certificate = await selfSignedCertificate();
    expect(() => checkTlsCredentials(credentials(certificate))).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) }));
  });

  it('names an unreadable file', async () => {
    const dir = await tempDir();
    const certPath = join(dir, 'cert.pem');
    await writeFile(certPath, 'x');
    await expect(loadTlsCredentials(certPath, join(dir, 'missing.pem'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: `cannot read the TLS private key ${join(dir, 'missing.pem')}: it does not exist` });
  });
});
