// TLS in front of a plain-HTTP listener (the fluxo auth proxy of a test stack), with a self-signed
// certificate (test/support/tls.ts): the API as an agency sees it behind a private CA.
import { connect, type Socket } from 'node:net';
import { createServer } from 'node:tls';
import { onCleanup } from '../../support/harness.js';
import type { TestCertificate } from '../../support/tls.js';

/** Terminates TLS on a free 127.0.0.1 port and relays the bytes to `upstreamPort`. Stopped after the test. */
export async function startTlsFront(certificate: TestCertificate, upstreamPort: number): Promise<{ port: number }> {
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
