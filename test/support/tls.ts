// Self-signed TLS certificates for tests (the `selfsigned` package, so no openssl is needed): a
// certificate that is its own CA, for localhost and 127.0.0.1, written to a temporary directory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { tempDir } from './harness.js';

export interface TestCertificate {
  cert: string;
  key: string;
  /** PEM files, for `--tls-cert`, `--tls-key` and an agent's `--ca-file`. */
  certPath: string;
  keyPath: string;
}

/** A P-256 certificate for localhost and 127.0.0.1, valid from an hour ago for a day. */
export async function selfSignedCertificate(commonName = 'localhost'): Promise<TestCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now - 3_600_000),
    notAfterDate: new Date(now + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const dir = await tempDir('fluxo-tls-');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await writeFile(certPath, pems.cert);
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private, certPath, keyPath };
}
