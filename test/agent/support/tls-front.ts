// TLS in front of a plain-HTTP listener (the fluxo auth proxy of a test stack), with a self-signed
// certificate made by `openssl` for this test: the API as an agency sees it behind a private CA.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { promisify } from 'node:util';
import { onCleanup, tempDir } from '../../support/harness.js';

export interface Certificate {
  certPath: string;
  cert: string;
  key: string;
}

/** A self-signed certificate (its own CA) for `localhost` and 127.0.0.1, valid for a day. */
export async function selfSignedCertificate(commonName = 'localhost'): Promise<Certificate> {
  const dir = await tempDir('fluxo-tls-');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', keyPath, '-out', certPath, '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]).catch((error: Error) => {
    throw new Error(`these tests make a certificate with openssl: ${error.message}`, { cause: error });
  });
  return { certPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}

/** Terminates TLS on a free 127.0.0.1 port and relays the bytes to `upstreamPort`. Stopped after the test. */
export async function startTlsFront(certificate: Certificate, upstreamPort: number): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer({ key: certificate.key, cert: certificate.cert }, (client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  // Handshakes a client refuses (an untrusted certificate) end here, by design.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0 };
}
