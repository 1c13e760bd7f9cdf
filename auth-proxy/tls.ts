// TLS termination in the proxy, so agents and users reach fluxo over HTTPS (and WSS) without
// another component in front. The certificate and key are PEM files; they are checked when the
// proxy starts — readable, parseable, the key matching the certificate — so a mistake is a clear
// message at startup rather than failed handshakes later.
import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { FluxoError } from '../common/errors.js';

/** A certificate chain and its private key, PEM. */
export interface TlsCredentials {
  /** The server certificate, followed by any intermediates. */
  cert: string;
  key: string;
}

/**
 * Reads and checks a PEM certificate (chain) and private key. Throws FluxoError BAD_USER_INPUT
 * naming the file and the problem.
 *
 * @example const tls = await loadTlsCredentials('/etc/fluxo/tls.crt', '/etc/fluxo/tls.key')
 */
export async function loadTlsCredentials(certFile: string, keyFile: string): Promise<TlsCredentials> {
  // One after the other, so that with both files missing the error names the certificate every time.
  const cert = await readPem(certFile, 'certificate');
  const key = await readPem(keyFile, 'private key');
  checkTlsCredentials({ cert, key }, { certFile, keyFile });
  return { cert, key };
}

/**
 * Checks that `cert` parses, has not expired, and that `key` is its private key. Throws FluxoError
 * BAD_USER_INPUT otherwise.
 */
export function checkTlsCredentials(credentials: TlsCredentials, files: { certFile: string; keyFile: string } = { certFile: 'tls.cert', keyFile: 'tls.key' }): void {
  let certificate: X509Certificate;
  try {
    // X509Certificate reads the first certificate of a chain: the server's own.
    certificate = new X509Certificate(credentials.cert);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `the TLS certificate ${files.certFile} is not a PEM certificate (-----BEGIN CERTIFICATE-----): ${(error as Error).message}`, { cause: error });
  }
  let key;
  try {
    key = createPrivateKey(credentials.key);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `the TLS key ${files.keyFile} is not an unencrypted PEM private key: ${(error as Error).message}`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new FluxoError('BAD_USER_INPUT', `the TLS key ${files.keyFile} does not belong to the certificate ${files.certFile} (subject ${certificate.subject.replace(/\n/g, ', ')})`);
  }
  if (Date.parse(certificate.validTo) < Date.now()) {
    throw new FluxoError('BAD_USER_INPUT', `the TLS certificate ${files.certFile} expired on ${new Date(certificate.validTo).toISOString()}; renew it`);
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new FluxoError('BAD_USER_INPUT', `cannot read the TLS ${what} ${path}: ${why}`, { cause: error });
  }
}
