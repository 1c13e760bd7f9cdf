// Whole-request answers and body reading shared by the GraphQL endpoint and the internal routes.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, FluxoError, httpStatusOf } from '../common/errors.js';

/** Answers a whole request with a coded error (GraphQL-shaped body, status from the code). */
export function refuse(res: ServerResponse, error: FluxoError, headers: Record<string, string> = {}): void {
  res.writeHead(httpStatusOf[error.code], { 'content-type': 'application/json', ...headers });
  res.end(errorBody(error.code, error.message));
}

/**
 * Answers a WebSocket upgrade that never became one: a complete HTTP/1.1 response written onto the
 * raw socket, with the status of the refusal's own code (404 for a wrong path, 401 for a missing
 * identity), then closed.
 */
export function refuseUpgrade(socket: Duplex, error: FluxoError): void {
  if (socket.destroyed) return;
  const status = httpStatusOf[error.code];
  const body = errorBody(error.code, error.message);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

/** The request body, or PAYLOAD_TOO_LARGE once it exceeds `maxBytes` (declared or actual). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) return reject(new FluxoError('PAYLOAD_TOO_LARGE', `request body of ${declared} bytes exceeds the ${maxBytes}-byte limit`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.destroy();
        reject(new FluxoError('PAYLOAD_TOO_LARGE', `request body exceeds the ${maxBytes}-byte limit`));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
